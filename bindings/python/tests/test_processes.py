"""Two processes read one store while a third writes."""
from __future__ import annotations

import multiprocessing as mp

import ctxmem
import _workers

BATCHES = 40


def test_two_readers_and_a_writer_share_a_store(store_path):
    with ctxmem.Store(store_path) as st:  # create it, then let go before the children start
        st.session(user="u", session="shared").add({"role": "user", "content": "start"})
    ctx = mp.get_context("spawn")
    done, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_workers.reader, args=(store_path, done, out, 20.0))
             for _ in range(2)]
    procs.append(ctx.Process(target=_workers.writer, args=(store_path, BATCHES, done, out)))
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=40))
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    assert all(status == "ok" for _, status, _ in results), results
    assert all(p.exitcode == 0 for p in procs)

    total = 1 + BATCHES * _workers.BATCH
    readers = [seen for who, _, seen in results if who == "reader"]
    assert len(readers) == 2
    for seen in readers:
        assert seen == sorted(seen), "a reader never sees the store shrink"
        assert all((n - 1) % _workers.BATCH == 0 for n in seen), "batches are all-or-nothing"
        assert seen[-1] == total, "the last read, after the writer finished, sees everything"
    with ctxmem.Store(store_path, readonly=True) as st:
        assert st.stat()["segments"] == total
