"""Process bodies for test_processes.py (a module, so 'spawn' children can import them)."""
from __future__ import annotations

import time

BATCH = 4


def writer(path, batches, done, out):
    import ctxmem
    try:
        with ctxmem.Store(path) as st:
            s = st.session(user="u", session="shared")
            for b in range(batches):
                s.add([{"role": "user", "content": f"batch {b} message {i} about rivers"}
                       for i in range(BATCH)])
                time.sleep(0.005)
        out.put(("writer", "ok", batches * BATCH))
    except BaseException as exc:  # report, never hang the parent
        out.put(("writer", "error", repr(exc)))
    finally:
        done.set()


def reader(path, done, out, deadline_s):
    import ctxmem
    seen = []
    try:
        with ctxmem.Store(path, readonly=True) as st:
            s = st.session(user="u", session="shared")
            end = time.monotonic() + deadline_s
            while time.monotonic() < end:
                finished = done.is_set()
                n = st.stat()["segments"]
                seen.append(n)
                s.search("rivers", k=3)
                win = s.window(budget=400)
                assert win.tokens <= 400
                if finished:
                    break
        out.put(("reader", "ok", seen))
    except BaseException as exc:
        out.put(("reader", "error", repr(exc)))
