"""Messages in, messages out: OpenAI-style dicts, tool calls, pins, recall."""
from __future__ import annotations

import json

import pytest

import ctxmem

CHAT = [
    {"role": "system", "content": "You plan trips."},
    {"role": "user", "content": "Weather in Porto tomorrow?", "name": "ana"},
    {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_a", "type": "function",
         "function": {"name": "weather", "arguments": '{"city": "Porto"}'}},
        {"id": "call_b", "type": "function",
         "function": {"name": "calendar", "arguments": {"day": "tomorrow"}}}]},
    {"role": "tool", "tool_call_id": "call_a", "content": "rain, 14C"},
    {"role": "tool", "tool_call_id": "call_b", "content": "free all day"},
    {"role": "assistant", "content": "Rain and 14C; your day is free."},
]


def test_round_trip_keeps_messages_and_tool_calls(store):
    s = store.session(user="ana", agent="planner", session="s1")
    ids = s.add(CHAT)
    # The assistant message with two calls becomes its text plus one segment per call.
    assert len(ids) == 8 and ids == sorted(ids)

    segs = list(s.segments())
    assert [g["role"] for g in segs] == ["system", "user", "assistant", "tool_call", "tool_call",
                                         "tool_result", "tool_result", "assistant"][:len(segs)]
    calls = [g for g in segs if g["role"] == "tool_call"]
    assert [(c["pair_id"], c["name"], c["text"]) for c in calls] == [
        ("call_a", "weather", '{"city": "Porto"}'), ("call_b", "calendar", '{"day": "tomorrow"}')]
    assert segs[1]["name"] == "ana"

    win = s.window(budget=4000)
    want = [
        {"role": "system", "content": "You plan trips."},
        {"role": "user", "content": "Weather in Porto tomorrow?", "name": "ana"},
        {"role": "assistant", "content": "Let me check."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Porto"}'}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_b", "type": "function",
             "function": {"name": "calendar", "arguments": '{"day": "tomorrow"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "rain, 14C"},
        {"role": "tool", "tool_call_id": "call_b", "content": "free all day"},
        {"role": "assistant", "content": "Rain and 14C; your day is free."},
    ]
    assert win.messages == want
    json.dumps(win.messages)  # ready for a chat API: plain JSON types only
    assert win.report["gen_ai.usage.input_tokens"] == win.tokens
    assert win.report["tiers"]["hot"]["items"] == len(want)


def test_notes_with_keys_supersede(store):
    s = store.session(user="ana")
    first = s.add_note("Ana lives in Porto.", key="user.city")
    second = s.add({"role": "note", "content": "Ana lives in Braga.", "key": "user.city"})[0]
    assert second != first
    again = s.add({"role": "document", "content": "Doc text.", "supersedes": 0})
    assert again == s.add({"role": "document", "content": "Doc text."})  # stored once


def test_pins_lead_the_window_and_unpin_removes_them(store):
    s = store.session(user="ana", agent="planner", session="s1")
    s.add({"role": "user", "content": "hello"})
    s.pin("persona", "You are terse.", priority=0)
    s.pin("profile", "Ana likes trains.", role="note", priority=5, scope="user")
    win = s.window(budget=500)
    texts = [m["content"] for m in win.messages]
    assert "You are terse." in texts and "Ana likes trains." in texts
    assert win.report["tiers"]["pinned"]["items"] == 2
    s.unpin("persona")
    assert "You are terse." not in [m["content"] for m in s.window(budget=500).messages]
    with pytest.raises(ctxmem.NotFound):
        s.unpin("persona")


def test_recall_tool_definition_and_answer(store):
    tool = ctxmem.recall_tool()
    assert tool["type"] == "function" and tool["function"]["name"] == "memory_search"
    s = store.session(user="ana", agent="planner", session="s1")
    s.add(CHAT)
    other = store.session(user="ana", agent="planner", session="s2")
    res = other.recall('{"query": "Porto weather", "k": 3}', max_tokens=400)
    assert res["results"], "scope 'user' reaches the other session"
    assert any("Porto" in r["text"] for r in res["results"])
    assert other.recall({"query": "Porto weather"}, scope="session")["results"] == []
    small = s.recall({"query": "Porto"}, max_tokens=30)
    assert store.count_tokens(json.dumps(small, separators=(",", ":"))) <= 30


def test_search_reports_each_signal(store):
    s = store.session(user="ana", session="s1")
    s.add([{"role": "user", "content": "The cello lesson moved to Thursday."},
           {"role": "user", "content": "Buy oat milk."},
           {"role": "user", "content": "Dinner with Leo on Sunday."}])
    hits = s.search("cello lesson", k=1)
    top = hits[0]
    assert top["text"] == "The cello lesson moved to Thursday."
    assert top["lexical_rank"] == 1 and top["neighbour_of"] == 0
    for hit in hits:
        if not hit["neighbour_of"]:
            parts = (hit["vector_contribution"] + hit["lexical_contribution"]
                     + hit["recency_contribution"])
            assert hit["score"] == pytest.approx(parts, rel=1e-5)
    mine = s.search("cello lesson", k=1, weight_lexical=2.0, rrf_k=10, weight_vector=0.0001)
    assert mine[0]["lexical_contribution"] == pytest.approx(2.0 / 11)


def test_search_defaults_equal_the_engines(store):
    """SEARCH_DEFAULTS must track engine/index/search.c: same scores as zeroed options."""
    from ctxmem import _lib
    from ctxmem.store import SEARCH_DEFAULTS
    s = store.session(user="ana", session="s1")
    s.add([{"role": "user", "content": f"note {i} about cello, milk or trains"}
           for i in range(12)])
    ours = s.search("cello trains", k=5, with_text=False)
    engine = s._search("cello trains", "session",
                       _lib.SearchOpts(version=_lib.SEARCH_OPTS_VERSION, k=5), SEARCH_DEFAULTS)
    assert [(h["id"], h["score"]) for h in ours] == [(h["id"], h["score"]) for h in engine]


def test_count_tokens_matches_known_ids(store):
    # "hello world" is 2 tokens in o200k_base (tiktoken: [24912, 2375]).
    assert store.count_tokens("hello world") == 2
    assert store.count_tokens("") == 0
