#!/usr/bin/env python3
"""Replay a conversation into a ctxmem store and print the window report.

usage: replay.py [--locomo PATH] [--store DIR] [--budget N] [--reserve N]

Without --locomo it replays examples/conversation.json (OpenAI-style
messages, with a tool call and a note). With --locomo it replays the dialogue
turns (speaker, text, photo caption, session date) of the first conversation
of a LoCoMo file such as ../shared/data/locomo/locomo10.json; the dataset's
generated summaries, observations and QA are not used. After every turn it
asks for a window; at the end it prints the last window's messages and report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from typing import Any, Dict, List

import ctxmem

HERE = os.path.dirname(os.path.abspath(__file__))


def locomo_messages(path: str) -> List[Dict[str, Any]]:
    """The first LoCoMo conversation's dialogue turns as user messages named by speaker."""
    with open(path, encoding="utf-8") as f:
        conv = json.load(f)[0]["conversation"]
    out = []
    n = 1
    while f"session_{n}" in conv:
        date = dt.datetime.strptime(conv[f"session_{n}_date_time"], "%I:%M %p on %d %B, %Y")
        for i, turn in enumerate(conv[f"session_{n}"]):
            text = turn["text"]
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            when = date + dt.timedelta(seconds=30 * i)
            out.append({"role": "user", "name": turn["speaker"], "content": text,
                        "time": when.replace(tzinfo=dt.timezone.utc)})
        n += 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--locomo", help="a LoCoMo JSON file (first conversation is replayed)")
    ap.add_argument("--store", help="store directory (default: a temporary one)")
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--reserve", type=int, default=300)
    args = ap.parse_args()

    if args.locomo:
        messages = locomo_messages(args.locomo)
    else:
        with open(os.path.join(HERE, "conversation.json"), encoding="utf-8") as f:
            messages = json.load(f)

    tmp = None if args.store else tempfile.TemporaryDirectory()
    path = args.store or os.path.join(tmp.name, "store")
    with ctxmem.Store(path, nosync=True) as store:
        session = store.session(user="demo", agent="replay", session="s1")
        session.pin("system", "You are a helpful assistant with long-term memory.")
        win = None
        for msg in messages:
            session.add(msg)
            if msg["role"] == "user":
                win = session.window(budget=args.budget, reserve=args.reserve)
        if win is None:
            win = session.window(budget=args.budget, reserve=args.reserve)
        print(f"replayed {len(messages)} messages; last window: {win.tokens} tokens "
              f"of {args.budget - args.reserve} available, {len(win.messages)} messages")
        print("== messages")
        for m in win.messages:
            text = m.get("content") or json.dumps(m.get("tool_calls"))
            print(f"  {m['role']:9} {text[:100]}")
        print("== report")
        report = dict(win.report)
        report["items"] = f"<{len(report['items'])} items>"
        report["dropped"] = f"<{len(report['dropped'])} dropped>"
        print(json.dumps(report, indent=2))
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
