"""C errors surface as ctxmem.Error subclasses carrying the C message."""
from __future__ import annotations

import os

import pytest

import ctxmem


def test_bad_budget_raises_invalid_argument_with_c_message(store):
    s = store.session(user="u")
    with pytest.raises(ctxmem.InvalidArgument, match=r"budget limit 0 out of range") as info:
        s.window(budget=0)
    assert info.value.code == -1 and isinstance(info.value, ValueError)
    with pytest.raises(ctxmem.InvalidArgument, match="reserve_output 100 leaves nothing"):
        s.window(budget=100, reserve=100)


def test_pin_over_its_limit_raises_full(store):
    s = store.session(user="u")
    with pytest.raises(ctxmem.Full) as info:
        s.pin("big", "word " * 200, max_tokens=10)
    assert "10" in info.value.message and info.value.code == -4


def test_priority_zero_pins_over_budget_raise_full(store):
    s = store.session(user="u")
    s.pin("system", "rule " * 300, max_tokens=1000)
    with pytest.raises(ctxmem.Full, match="token"):
        s.window(budget=100)


def test_missing_store_raises_not_found(tmp_path):
    with pytest.raises(ctxmem.NotFound) as info:
        ctxmem.Store(os.path.join(str(tmp_path), "nope"), create=False)
    assert info.value.message


def test_readonly_store_refuses_writes(store_path):
    with ctxmem.Store(store_path) as st:
        st.session(user="u").add({"role": "user", "content": "hi"})
    with ctxmem.Store(store_path, readonly=True) as ro:
        with pytest.raises(ctxmem.ReadOnly):
            ro.session(user="u").add({"role": "user", "content": "again"})
        info = ro.stat()
        assert info["segments"] == 1
        assert (info["embedder"], info["embedder_dim"]) == ("ctxmem-hash-v1", 128)


def test_other_tokenizer_raises_mismatch(store_path):
    ctxmem.Store(store_path).close()
    with pytest.raises(ctxmem.Mismatch, match="o200k_base|cl100k_base"):
        ctxmem.Store(store_path, tokenizer="cl100k_base")


def test_tool_result_without_its_call_is_refused(store):
    s = store.session(user="u")
    with pytest.raises(ctxmem.InvalidArgument, match="pair"):
        s.add({"role": "tool", "tool_call_id": "call_missing", "content": "42"})


def test_malformed_messages_raise_before_any_write(store):
    s = store.session(user="u")
    with pytest.raises(ctxmem.InvalidArgument, match="unknown role"):
        s.add([{"role": "user", "content": "ok"}, {"role": "wizard", "content": "x"}])
    with pytest.raises(ctxmem.InvalidArgument, match="tool_call_id"):
        s.add({"role": "tool", "content": "x"})
    assert list(s.segments()) == []


def test_bad_scope_name_is_reported_by_c(store):
    with pytest.raises(ctxmem.InvalidArgument) as info:
        store.session(user="a/b").add({"role": "user", "content": "x"})
    assert info.value.message


def test_closed_store_raises(store_path):
    st = ctxmem.Store(store_path)
    st.close()
    st.close()
    with pytest.raises(ctxmem.Error, match="closed"):
        st.count_tokens("x")
