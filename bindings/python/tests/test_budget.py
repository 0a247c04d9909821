"""The window never exceeds its budget, recounted independently."""
from __future__ import annotations

import pytest

from conftest import chat_tokens, conversation


@pytest.mark.parametrize("budget,reserve", [(120, 0), (300, 50), (700, 200), (2000, 500),
                                            (8000, 1000)])
def test_window_never_exceeds_budget(store, budget, reserve):
    s = store.session(user="sam", agent="helper", session="long")
    s.add(conversation(60))
    s.pin("system", "You are a careful assistant. Keep answers short.")
    for query in (None, "budget of 2,400 euros", "cello"):
        win = s.window(query=query, budget=budget, reserve=reserve)
        recount = chat_tokens(store, win.messages)
        assert recount == win.tokens, "the report's total matches an independent recount"
        assert win.tokens <= budget - reserve
        assert win.report["ctxmem.budget.available"] == budget - reserve
        # Tool calls and results travel together.
        calls = {c["id"] for m in win.messages for c in m.get("tool_calls") or []}
        results = {m["tool_call_id"] for m in win.messages if m["role"] == "tool"}
        assert calls == results


def test_tier_shares_are_passed_through(store):
    hot = {}
    for share in (0.2, 0.8):
        s = store.session(user="sam", session=f"share-{share}")
        s.add(conversation(40))
        win = s.window(budget=1500, hot_share=share, warm_share=0.1)
        assert win.tokens <= 1500
        hot[share] = win.report["tiers"]["hot"]["tokens"]
    assert hot[0.2] < hot[0.8]
