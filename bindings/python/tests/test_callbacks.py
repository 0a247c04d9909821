"""Python embedders and summarizers: used by ctxmem, and their exceptions surface."""
from __future__ import annotations

import math

import pytest

import ctxmem
from conftest import conversation

DIM = 26


def letters(texts):
    """A toy embedding: letter frequencies (list of lists, no numpy)."""
    rows = []
    for t in texts:
        v = [0.0] * DIM
        for ch in t.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - 97] += 1.0
        v[0] += 1e-3  # never all zero
        rows.append(v)
    return rows


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_python_embedder_is_used_for_add_and_search(store_path):
    emb = ctxmem.Embedder(letters, name="letters-v1", dim=DIM)
    texts = ["zebra zone zigzag", "apple banana", "quiet quilt queen"]
    with ctxmem.Store(store_path, embedder=emb, nosync=True) as st:
        s = st.session(user="u", session="s")
        s.add([{"role": "user", "content": t} for t in texts])
        assert emb.texts >= len(texts)
        calls = emb.calls
        hits = s.search("zzz zig", k=3)
        assert emb.calls > calls, "the query was embedded by the Python embedder"
        by_text = {h["text"]: h for h in hits}
        q = letters(["zzz zig"])[0]
        for t in texts:
            if t in by_text and by_text[t]["vector_rank"]:
                want = cosine(q, letters([t])[0])
                assert by_text[t]["vector_score"] == pytest.approx(want, abs=1e-4)
        assert by_text["zebra zone zigzag"]["vector_rank"] == 1
    # The store recorded the embedder: another one is refused.
    other = ctxmem.Embedder(letters, name="other", dim=DIM)
    with pytest.raises(ctxmem.Mismatch, match="letters-v1|other"):
        ctxmem.Store(store_path, embedder=other)


def test_numpy_embedder_returns_float32_array(store_path):
    np = pytest.importorskip("numpy")
    emb = ctxmem.Embedder(lambda ts: np.array(letters(ts), dtype=np.float64), name="np", dim=DIM)
    with ctxmem.Store(store_path, embedder=emb, nosync=True) as st:
        s = st.session(user="u")
        s.add({"role": "user", "content": "zebra"})
        assert s.search("zebra", k=1)[0]["vector_score"] == pytest.approx(1.0, abs=1e-4)


def test_python_summarizer_is_named_in_report(store_path):
    seen = []

    def summarize(text, max_tokens):
        seen.append((len(text), max_tokens))
        return "SUMMARY: " + " ".join(text.split()[:8])

    summ = ctxmem.Summarizer(summarize, name="py-first-words")
    with ctxmem.Store(store_path, summarizer=summ, nosync=True) as st:
        s = st.session(user="u", session="s")
        s.add(conversation(50))
        win = s.window(budget=900, hot_share=0.3, warm_share=0.3)
        assert win.report["ctxmem.summarizer"] == "py-first-words"
        assert seen and summ.calls == len(seen)
        assert win.report["demoted"] > 0
        warm = [m for m, it in zip(win.messages, win.report["items"]) if it["tier"] == "warm"]
        assert warm and all("SUMMARY:" in m["content"] for m in warm)
        st.set_summarizer(None)
        assert s.window(budget=900).report["ctxmem.summarizer"] == "extractive"


class Boom(RuntimeError):
    pass


def test_embedder_exception_propagates_and_store_survives(store_path):
    state = {"fail": False}

    def flaky(texts):
        if state["fail"]:
            raise Boom("embedding service down")
        return letters(texts)

    emb = ctxmem.Embedder(flaky, name="flaky", dim=DIM)
    with ctxmem.Store(store_path, embedder=emb, nosync=True) as st:
        s = st.session(user="u")
        s.add({"role": "user", "content": "first"})
        state["fail"] = True
        with pytest.raises(Boom, match="service down") as info:
            s.add({"role": "user", "content": "second"})
        cause = info.value.__cause__
        assert isinstance(cause, ctxmem.CallbackError)
        assert "flaky" in str(cause) and cause.code == -9
        assert [g["text"] for g in s.segments()] == ["first"], "the failed batch left nothing"
        state["fail"] = False
        s.add({"role": "user", "content": "third"})
        assert len(list(s.segments())) == 2


def test_embedder_wrong_shape_is_an_error(store_path):
    emb = ctxmem.Embedder(lambda ts: [[1.0] * (DIM - 1) for _ in ts], name="short", dim=DIM)
    with ctxmem.Store(store_path, embedder=emb, nosync=True) as st:
        with pytest.raises(ctxmem.InvalidArgument, match="25 floats, want 26") as info:
            st.session(user="u").add({"role": "user", "content": "x"})
        assert isinstance(info.value.__cause__, ctxmem.CallbackError)


def test_summarizer_exception_propagates(store_path):
    def broken(text, max_tokens):
        raise KeyError("no model loaded")

    with ctxmem.Store(store_path, summarizer=broken, nosync=True) as st:
        s = st.session(user="u", session="s")
        s.add(conversation(50))
        with pytest.raises(KeyError, match="no model loaded") as info:
            s.window(budget=900, hot_share=0.3, warm_share=0.3)
        assert isinstance(info.value.__cause__, ctxmem.CallbackError)
        assert "broken" in info.value.__cause__.message


def test_threads_share_a_store_with_a_python_embedder(store_path):
    import threading

    emb = ctxmem.Embedder(letters, name="letters-v1", dim=DIM)
    errors = []
    with ctxmem.Store(store_path, embedder=emb, nosync=True) as st:
        st.session(user="u").add([{"role": "user", "content": f"note {i} zebra"}
                                  for i in range(20)])

        def work(i):
            try:
                s = st.session(user="u")
                for _ in range(5):
                    assert s.search(f"zebra {i}", k=3)
                    assert s.window(budget=300).tokens <= 300
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not errors and not any(t.is_alive() for t in threads)
