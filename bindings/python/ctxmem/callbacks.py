"""Python embedders and summarizers as C callbacks.

ctxmem calls an application's embedder and summarizer from inside a C call
(``Session.add``, ``Session.search``, ``Session.window``), on the thread that
made that call. ctypes re-acquires the GIL for the duration of the callback,
so a callback may run Python code freely; the GIL is released again when it
returns to C.

An exception raised by a callback never unwinds through C: the trampoline
catches it, records it for the calling thread and returns nonzero, so the C
call fails with CTXMEM_ECALLBACK. The binding then re-raises the original
exception, chained to a ``ctxmem.CallbackError`` carrying the C message.
"""
from __future__ import annotations

import ctypes
import threading
from typing import Any, Callable, List, Optional

from . import _lib
from .errors import CallbackError, Error, InvalidArgument

try:  # numpy is optional: used to copy embeddings fast when installed
    import numpy as _np
except ImportError:  # pragma: no cover - exercised only without numpy
    _np = None

EmbedFunction = Callable[[List[str]], Any]
"""texts -> n x dim floats (numpy float32 array, or a list of lists of floats)."""

SummarizeFunction = Callable[[str, int], str]
"""(text, max_tokens) -> summary text."""


class _Pending(threading.local):
    """The exception a callback raised during the current C call, per thread."""
    exc: Optional[BaseException] = None


class CallbackGuard:
    """Holds callback exceptions until the C call that triggered them returns."""

    def __init__(self) -> None:
        self._pending = _Pending()

    def record(self, exc: BaseException) -> None:
        """Remember ``exc`` for the calling thread (the first one wins)."""
        if self._pending.exc is None:
            self._pending.exc = exc

    def clear(self) -> None:
        """Forget any recorded exception of the calling thread."""
        self._pending.exc = None

    def check(self, rc: int) -> None:
        """Raise for a failed C call: the callback's own exception when there is one."""
        exc, self._pending.exc = self._pending.exc, None
        if rc == 0:
            return
        from .errors import from_code
        err = from_code(rc)
        if exc is not None:
            raise exc from err
        raise err


class Embedder:
    """An application embedding model for the store's vector index.

    Args:
        fn: callable taking a list of str and returning ``len(texts)`` rows of
            ``dim`` floats: a numpy array (any float dtype, converted to
            float32) or a list of lists.
        name: identity recorded in the store (1-64 printable ASCII bytes);
            reopening the store with another name or dim raises
            ``ctxmem.Mismatch``.
        dim: floats per vector, 1-4096.

    ``calls`` counts the calls made by ctxmem and ``texts`` the texts embedded.
    """

    def __init__(self, fn: EmbedFunction, *, name: str, dim: int) -> None:
        if not callable(fn):
            raise InvalidArgument("embedder: fn is not callable", -1)
        if not isinstance(dim, int) or not 1 <= dim <= 4096:
            raise InvalidArgument(f"embedder: dim {dim!r} outside 1..4096", -1)
        if not name or len(name) > 64 or not name.isascii() or not name.isprintable():
            raise InvalidArgument(f"embedder: name {name!r} is not 1-64 printable ASCII", -1)
        self.fn: EmbedFunction = fn
        self.name: str = name
        self.dim: int = dim
        self.calls: int = 0
        self.texts: int = 0

    def embed(self, texts: List[str]) -> List[List[float]]:
        """Call ``fn`` and validate the shape; returns what ``fn`` returned."""
        rows = self.fn(texts)
        self.calls += 1
        self.texts += len(texts)
        return rows

    def __repr__(self) -> str:
        return f"Embedder(name={self.name!r}, dim={self.dim})"


class Summarizer:
    """An application summarizer for the warm tier.

    Args:
        fn: callable ``(text, max_tokens) -> str``. Output longer than
            ``max_tokens`` (store tokenizer) is cut by ctxmem.
        name: reported in every window report as ``ctxmem.summarizer``.
        max_input_tokens: the summarizer's own input limit; longer spans are
            summarized in line-aligned parts, then the parts together. 0: none.
    """

    def __init__(self, fn: SummarizeFunction, *, name: Optional[str] = None,
                 max_input_tokens: int = 0) -> None:
        if not callable(fn):
            raise InvalidArgument("summarizer: fn is not callable", -1)
        self.fn: SummarizeFunction = fn
        self.name: str = name or getattr(fn, "name", None) or getattr(fn, "__name__", "python")
        self.max_input_tokens: int = int(max_input_tokens)
        self.calls: int = 0

    def __repr__(self) -> str:
        return f"Summarizer(name={self.name!r})"


def as_embedder(obj: Any) -> Embedder:
    """Accept an Embedder, or a callable carrying ``name`` and ``dim`` attributes."""
    if isinstance(obj, Embedder):
        return obj
    if callable(obj) and hasattr(obj, "name") and hasattr(obj, "dim"):
        return Embedder(obj, name=obj.name, dim=int(obj.dim))
    raise InvalidArgument("embedder: pass ctxmem.Embedder(fn, name=..., dim=...) or a callable "
                          "with 'name' and 'dim' attributes", -1)


def as_summarizer(obj: Any) -> Summarizer:
    """Accept a Summarizer or a plain callable ``(text, max_tokens) -> str``."""
    if isinstance(obj, Summarizer):
        return obj
    return Summarizer(obj)


def _copy_rows(rows: Any, n: int, dim: int, out: Any) -> None:
    """Copy n x dim floats into the C buffer `out`, checking the shape."""
    if _np is not None and not isinstance(rows, list):
        arr = _np.ascontiguousarray(rows, dtype=_np.float32)
        if arr.shape != (n, dim):
            raise InvalidArgument(f"embedder returned shape {arr.shape}, want ({n}, {dim})", -1)
        ctypes.memmove(out, arr.ctypes.data, n * dim * 4)
        return
    rows = list(rows)
    if len(rows) != n:
        raise InvalidArgument(f"embedder returned {len(rows)} rows for {n} texts", -1)
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != dim:
            raise InvalidArgument(f"embedder row {i} has {len(row)} floats, want {dim}", -1)
        base = i * dim
        for j, v in enumerate(row):
            out[base + j] = float(v)


class EmbedderBinding:
    """The C struct, its trampoline and everything they point at, kept alive together."""

    def __init__(self, emb: Embedder, guard: CallbackGuard) -> None:
        self.emb = emb
        self.guard = guard
        self._name = emb.name.encode("ascii")
        self._fn = _lib.EMBED_FN(self._trampoline)
        self.struct = _lib.EmbedderStruct(_lib.EMBEDDER_VERSION, self._name, emb.dim, self._fn,
                                          None)

    def _trampoline(self, user: Any, texts: Any, lens: Any, n: int, out: Any) -> int:
        try:
            batch = [ctypes.string_at(texts[i], lens[i]).decode("utf-8") for i in range(n)]
            rows = self.emb.embed(batch)
            _copy_rows(rows, n, self.emb.dim, out)
            return 0
        except BaseException as exc:  # never unwind through C
            self.guard.record(exc)
            return 1


class SummarizerBinding:
    """The C summarizer struct and trampoline for a Python summarizer."""

    def __init__(self, summ: Summarizer, guard: CallbackGuard) -> None:
        self.summ = summ
        self.guard = guard
        self._name = summ.name.encode("utf-8")
        self._fn = _lib.SUMMARIZE_FN(self._trampoline)
        self.struct = _lib.SummarizerStruct(_lib.SUMMARIZER_VERSION, self._name,
                                            summ.max_input_tokens, self._fn, None)

    def _trampoline(self, user: Any, text: Any, length: int, max_tokens: int, out: Any,
                    cap: int, out_len: Any) -> int:
        try:
            src = ctypes.string_at(text, length).decode("utf-8") if length else ""
            result = self.summ.fn(src, int(max_tokens))
            self.summ.calls += 1
            if not isinstance(result, str):
                raise TypeError(f"summarizer returned {type(result).__name__}, want str")
            data = _cut_utf8(result.encode("utf-8"), cap)
            ctypes.memmove(out, data, len(data))
            out_len[0] = len(data)
            return 0
        except BaseException as exc:
            self.guard.record(exc)
            return 1


def _cut_utf8(data: bytes, cap: int) -> bytes:
    """At most `cap` bytes of `data`, ending on a character boundary."""
    if len(data) <= cap:
        return data
    end = cap
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


__all__ = ["Embedder", "Summarizer", "EmbedFunction", "SummarizeFunction", "CallbackError",
           "Error"]
