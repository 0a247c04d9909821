"""Shared fixtures: a fresh temporary store per test."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

import ctxmem


@pytest.fixture
def store_path(tmp_path) -> str:
    return os.path.join(str(tmp_path), "store")


@pytest.fixture
def store(store_path) -> Iterator[ctxmem.Store]:
    with ctxmem.Store(store_path, nosync=True) as s:
        yield s


def chat_tokens(store: ctxmem.Store, messages) -> int:
    """Tokens of a chat request, recounted independently of the C assembly.

    The openai-chat framing: 3 per message + count(role) + count(content)
    (+ 1 + count(name) when named), an assistant tool call costs
    count(function name) + count(arguments) on top of an empty assistant
    message, and 3 tokens prime the reply.
    """
    total = 3
    for m in messages:
        n = 3 + store.count_tokens(m["role"]) + store.count_tokens(m.get("content") or "")
        if m.get("name"):
            n += 1 + store.count_tokens(m["name"])
        for call in m.get("tool_calls") or []:
            fn = call["function"]
            n += store.count_tokens(fn["name"]) + store.count_tokens(fn["arguments"])
        total += n
    return total


def conversation(turns: int):
    """A synthetic conversation with a tool call every 5th turn."""
    topics = ["the Lisbon trip", "a budget of 2,400 euros", "the dentist on Friday",
              "Mia's birthday cake", "the quarterly report", "learning the cello"]
    out = []
    for i in range(turns):
        topic = topics[i % len(topics)]
        out.append({"role": "user", "name": "sam",
                    "content": f"Turn {i}: let's talk about {topic}. What should I remember?"})
        if i % 5 == 4:
            cid = f"call_{i}"
            out.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": cid, "type": "function",
                 "function": {"name": "lookup", "arguments": f'{{"topic": "{topic}"}}'}}]})
            out.append({"role": "tool", "tool_call_id": cid, "content": f"notes on {topic}: ok"})
        out.append({"role": "assistant",
                    "content": f"Noted about {topic}; you must not forget item {i}. " * 2})
    return out


def pytest_report_header(config):
    return [f"ctxmem package: {os.path.dirname(ctxmem.__file__)}",
            f"libctxmem: {ctxmem.LIBRARY_PATH} (found via {ctxmem.LIBRARY_SOURCE})"]
