"""Store, Session and Window: the Python face of ctxmem's C API."""
from __future__ import annotations

import ctypes
import datetime as _dt
import json
import os
import threading
from ctypes import byref, c_size_t, c_uint64, c_void_p
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from . import _lib
from .callbacks import (CallbackGuard, Embedder, EmbedderBinding, Summarizer, SummarizerBinding,
                        as_embedder, as_summarizer)
from .errors import Error, InvalidArgument

L = _lib.lib

Message = Dict[str, Any]
"""An OpenAI-style chat message dict ({"role": ..., "content": ..., ...})."""

_ROLES = {
    "system": _lib.ROLE_SYSTEM, "developer": _lib.ROLE_SYSTEM, "user": _lib.ROLE_USER,
    "assistant": _lib.ROLE_ASSISTANT, "tool": _lib.ROLE_TOOL_RESULT,
    "document": _lib.ROLE_DOCUMENT, "note": _lib.ROLE_NOTE,
}
_PIN_ROLES = {"system": _lib.ROLE_SYSTEM, "user": _lib.ROLE_USER,
              "assistant": _lib.ROLE_ASSISTANT, "note": _lib.ROLE_NOTE}
_SCOPE_LEVELS = ("session", "agent", "user")

SEARCH_DEFAULTS: Dict[str, float] = {
    "weight_vector": 0.3, "weight_lexical": 1.0, "weight_recency": 0.001, "rrf_k": 20,
}
"""The ranking weights Session.search sends when not given: the engine's defaults
(engine/index/search.c), so that each hit's per-signal contribution is exact.
tests/test_messages.py checks that they still equal the C defaults."""


def _utf8(value: Optional[str], what: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be str, not {type(value).__name__}", -1)
    return value.encode("utf-8")


def _content_text(content: Any, index: int) -> str:
    """The text of a message's content: a string, None, or a list of text parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise InvalidArgument(f"message {index}: content part of type {kind!r} is not "
                                      "text", -1)
        return "\n".join(parts)
    raise InvalidArgument(f"message {index}: content must be str, list or None", -1)


def _time_ms(value: Any, index: int) -> int:
    if value is None:
        return 0
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return int(value.timestamp() * 1000)
    if isinstance(value, (int, float)) and value >= 0:
        return int(value)
    raise InvalidArgument(f"message {index}: time must be Unix milliseconds or a datetime", -1)


class _Seg:
    """One segment to add, in Python terms, before it becomes a ctxmem_segment_in."""

    __slots__ = ("role", "text", "name", "pair_id", "key", "supersedes", "time", "meta")

    def __init__(self, role: int, text: str, name: Optional[str] = None,
                 pair_id: Optional[str] = None, key: Optional[str] = None,
                 supersedes: int = 0, time: int = 0, meta: Optional[str] = None) -> None:
        self.role, self.text, self.name, self.pair_id = role, text, name, pair_id
        self.key, self.supersedes, self.time, self.meta = key, supersedes, time, meta


def _message_segments(msg: Mapping[str, Any], index: int) -> List[_Seg]:
    """Split one OpenAI-style message into segments (an assistant's tool calls apart)."""
    if not isinstance(msg, Mapping):
        raise InvalidArgument(f"message {index}: expected a dict, got {type(msg).__name__}", -1)
    role_name = msg.get("role")
    role = _ROLES.get(role_name) if isinstance(role_name, str) else None
    if role is None:
        raise InvalidArgument(f"message {index}: unknown role {role_name!r} (use system, user, "
                              "assistant, tool, note or document)", -1)
    text = _content_text(msg.get("content"), index)
    time = _time_ms(msg.get("time"), index)
    meta = msg.get("meta")
    meta_json = json.dumps(meta) if meta is not None else None
    name = msg.get("name")
    key = msg.get("key")
    supersedes = int(msg.get("supersedes") or 0)
    if (key is not None or supersedes) and role not in (_lib.ROLE_NOTE, _lib.ROLE_DOCUMENT):
        raise InvalidArgument(f"message {index}: key and supersedes belong to note and "
                              "document messages", -1)

    if role == _lib.ROLE_TOOL_RESULT:
        call_id = msg.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidArgument(f"message {index}: a tool message needs tool_call_id", -1)
        return [_Seg(role, text, name, call_id, time=time, meta=meta_json)]

    segs: List[_Seg] = []
    calls = msg.get("tool_calls") or []
    if role != _lib.ROLE_ASSISTANT and calls:
        raise InvalidArgument(f"message {index}: only assistant messages carry tool_calls", -1)
    if text or not calls:
        segs.append(_Seg(role, text, name, None, key, supersedes, time, meta_json))
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, Mapping) else None
        call_id = call.get("id") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(call_id, str) or not call_id:
            raise InvalidArgument(f"message {index}: tool_calls[{j}] needs an id and a "
                                  "function", -1)
        args = fn.get("arguments", "")
        if not isinstance(args, str):
            args = json.dumps(args)
        segs.append(_Seg(_lib.ROLE_TOOL_CALL, args, fn.get("name"), call_id, time=time,
                         meta=meta_json))
    return segs


class Window:
    """The context window of one turn.

    Attributes:
        messages: the window as OpenAI-style chat messages, in sending order,
            ready to pass to a chat completion API (parsed on first access).
        report: the window report as a dict: the C JSON report's fields
            (``gen_ai.usage.input_tokens``, ``ctxmem.budget.limit``,
            ``ctxmem.tokenizer``, ``ctxmem.summarizer``, ``tiers``, ``items``,
            ``dropped``, ``timing_us``, ...; see docs/REPORT.md).
        tokens: tokens of the window, chat framing and reply priming included;
            never more than ``budget - reserve``.
    """

    __slots__ = ("tokens", "_messages_json", "_report_json", "_messages", "_report")

    def __init__(self, tokens: int, messages_json: str, report_json: str) -> None:
        self.tokens: int = tokens
        self._messages_json = messages_json
        self._report_json = report_json
        self._messages: Optional[List[Message]] = None
        self._report: Optional[Dict[str, Any]] = None

    @property
    def messages(self) -> List[Message]:
        """The window's chat messages (list of dicts)."""
        if self._messages is None:
            self._messages = json.loads(self._messages_json)
        return self._messages

    @property
    def report(self) -> Dict[str, Any]:
        """The window report (dict)."""
        if self._report is None:
            self._report = json.loads(self._report_json)
        return self._report

    @property
    def messages_json(self) -> str:
        """The messages as the C library rendered them (JSON text)."""
        return self._messages_json

    @property
    def report_json(self) -> str:
        """The report as the C library rendered it (JSON text)."""
        return self._report_json

    def __repr__(self) -> str:
        return f"Window(tokens={self.tokens}, messages={len(self.messages)})"


class Store:
    """A ctxmem store: one directory holding the durable memory of many scopes.

    Args:
        path: the store directory (created with mode 0700 unless
            ``create=False``).
        tokenizer: encoding that counts tokens: "o200k_base" (default),
            "cl100k_base" or "approx". An existing store keeps its own;
            naming another raises ``ctxmem.Mismatch``.
        embedder: ``ctxmem.Embedder`` (or a callable with ``name`` and
            ``dim`` attributes) for the vector index; None uses the built-in
            hashed embedder for a new store. A store created with an
            application embedder must be opened with the same one.
        summarizer: ``ctxmem.Summarizer`` or callable ``(text, max_tokens)
            -> str`` for the warm tier; None keeps the built-in extractive
            summarizer.
        tokenizer_dir: directory holding NAME.tiktoken. None: the C lookup
            (``CTXMEM_TOKENIZER_DIR``, then the install's directory), and,
            when that variable is unset, the ``share/ctxmem/tokenizers`` of
            the build tree the library was loaded from.
        readonly: open for reading only (writes raise ``ctxmem.ReadOnly``).
        create: create the store when missing (else ``ctxmem.NotFound``).
        nosync: do not flush at each commit (fast bulk loads, tests).
        reembed: re-embed every segment when ``embedder`` differs from the
            store's instead of raising ``ctxmem.Mismatch``.
        language: Snowball language of the lexical index ("english", ...).

    Thread safety: one Store may be used by many threads at once (the C
    handle is thread-safe and ctypes releases the GIL during each C call), but
    ``close()`` and ``set_summarizer()`` must not race other calls. Any number
    of processes may open the same directory; one process must open it once
    and share the Store. Use it as a context manager or call ``close()``.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], tokenizer: str = "o200k_base",
                 embedder: Optional[Any] = None, summarizer: Optional[Any] = None,
                 tokenizer_dir: Optional[str] = None, *, readonly: bool = False,
                 create: bool = True, nosync: bool = False, reembed: bool = False,
                 language: Optional[str] = None) -> None:
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self._guard = CallbackGuard()
        self._embedder: Optional[EmbedderBinding] = None
        self._summarizer: Optional[SummarizerBinding] = None
        self.path: str = os.fspath(path)

        if embedder is not None:
            self._embedder = EmbedderBinding(as_embedder(embedder), self._guard)
        if tokenizer_dir is None and not os.environ.get("CTXMEM_TOKENIZER_DIR"):
            tokenizer_dir = _lib.default_tokenizer_dir()
        self._keep = [_utf8(tokenizer, "tokenizer"), _utf8(tokenizer_dir, "tokenizer_dir"),
                      _utf8(language, "language")]
        flags = ((_lib.OPEN_READONLY if readonly else 0) | (0 if create else _lib.OPEN_NOCREATE)
                 | (_lib.OPEN_NOSYNC if nosync else 0) | (_lib.OPEN_REEMBED if reembed else 0))
        opts = _lib.Options(version=_lib.OPTIONS_VERSION, flags=flags,
                            tokenizer=self._keep[0], tokenizer_dir=self._keep[1],
                            language=self._keep[2])
        if self._embedder is not None:
            opts.embedder = ctypes.pointer(self._embedder.struct)

        handle = c_void_p()
        rc = L.ctxmem_store_open(byref(handle), self.path.encode("utf-8"), byref(opts))
        self._guard.check(rc)
        self._handle = handle.value
        self._tok = L.ctxmem_store_tokenizer(self._handle)
        if summarizer is not None:
            self.set_summarizer(summarizer)

    # ---- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Close the store. Sessions and windows of it become unusable. Idempotent."""
        with self._lock:
            if self._handle is not None:
                L.ctxmem_store_close(self._handle)
                self._handle = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._handle is None

    def _h(self) -> int:
        h = self._handle
        if h is None:
            raise InvalidArgument(f"store {self.path!r} is closed", -1)
        return h

    def _call(self, fn: Any, *args: Any) -> None:
        """Call a C function returning a ctxmem code; raise on failure."""
        self._guard.clear()
        self._guard.check(fn(*args))

    # ---- configuration ----------------------------------------------------

    @property
    def tokenizer(self) -> str:
        """Name of the store's tokenizer ("o200k_base", ...)."""
        self._h()
        return L.ctxmem_tokenizer_name(self._tok).decode()

    @property
    def embedder(self) -> Optional[Embedder]:
        """The application embedder given at open, or None."""
        return self._embedder.emb if self._embedder else None

    @property
    def summarizer(self) -> Optional[Summarizer]:
        """The application summarizer installed, or None (built-in extractive)."""
        return self._summarizer.summ if self._summarizer else None

    def set_summarizer(self, summarizer: Optional[Any]) -> None:
        """Install a summarizer (``Summarizer`` or callable); None restores the built-in one.

        Not safe while another thread assembles a window on this store.
        """
        binding = SummarizerBinding(as_summarizer(summarizer), self._guard) \
            if summarizer is not None else None
        ptr = ctypes.pointer(binding.struct) if binding else None
        self._call(L.ctxmem_store_set_summarizer, self._h(), ptr)
        # The old binding is kept until now: C held a pointer to it until the call above.
        self._summarizer = binding

    # ---- operations -----------------------------------------------------

    def session(self, user: str, agent: Optional[str] = None,
                session: Optional[str] = None) -> "Session":
        """A handle on one scope: a user, optionally an agent and a session within it.

        Names are 1-128 bytes of UTF-8 without control characters, '/' or '\\';
        they are checked by the first call that uses them.
        """
        return Session(self, user, agent, session)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` under the store's tokenizer (no chat framing)."""
        data = _utf8(text, "text") or b""
        n = c_size_t()
        self._h()
        self._call(L.ctxmem_tokenizer_count, self._tok, data, len(data), byref(n))
        return n.value

    def stat(self) -> Dict[str, Any]:
        """Store statistics: format, segments, scopes, tokens, map_size, used_bytes,
        tokenizer, embedder, embedder_dim, language."""
        info = _lib.StoreInfo()
        self._call(L.ctxmem_store_stat, self._h(), byref(info))
        return {"format": info.format, "segments": info.segments, "scopes": info.scopes,
                "tokens": info.tokens, "map_size": info.map_size,
                "used_bytes": info.used_bytes, "tokenizer": (info.tokenizer or b"").decode(),
                "embedder": (info.embedder or b"").decode(), "embedder_dim": info.embedder_dim,
                "language": (info.language or b"").decode()}

    def get(self, segment_id: int) -> Dict[str, Any]:
        """One stored segment as a dict (id, seq, role, time, tokens, text, name, ...)."""
        seg = ctypes.POINTER(_lib.Segment)()
        self._call(L.ctxmem_store_get, byref(seg), self._h(), int(segment_id))
        try:
            return _segment_dict(seg.contents)
        finally:
            L.ctxmem_segment_free(seg)

    def forget(self, segment_id: int) -> None:
        """Remove a segment from the store and both indexes."""
        self._call(L.ctxmem_store_forget, self._h(), int(segment_id))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Store({self.path!r}, {state})"


def _segment_dict(s: "_lib.Segment") -> Dict[str, Any]:
    text = ctypes.string_at(s.text, s.text_len).decode("utf-8") if s.text_len else ""
    meta = (s.meta_json or b"").decode()
    return {"id": s.id, "seq": s.seq, "role": L.ctxmem_role_name(s.role).decode(),
            "time": s.time, "tokens": s.tokens, "text": text,
            "name": (s.name or b"").decode(), "pair_id": (s.pair_id or b"").decode(),
            "key": (s.key or b"").decode(), "supersedes": s.supersedes,
            "meta": json.loads(meta) if meta else None, "flags": s.flags}


class Session:
    """The memory of one scope (user, agent, session), with the chat-history verbs.

    Create it with ``Store.session``. A Session holds no C resources; it is
    as thread-safe as its Store. Methods taking ``scope`` choose how wide a
    search or pin reaches: "session" (this exact scope), "agent" (every
    session of this user and agent) or "user" (everything of this user).
    """

    def __init__(self, store: Store, user: str, agent: Optional[str] = None,
                 session: Optional[str] = None) -> None:
        if not isinstance(user, str) or not user:
            raise InvalidArgument("session: user is required", -1)
        self.store: Store = store
        self.user: str = user
        self.agent: Optional[str] = agent or None
        self.session: Optional[str] = session or None
        self._names = (user.encode("utf-8"), _utf8(self.agent, "agent") or b"",
                       _utf8(self.session, "session") or b"")
        self._scope = _lib.Scope(*self._names)

    def _scope_at(self, level: str, any_below: bool) -> "_lib.Scope":
        """The scope at `level`; below it "any" (NULL) for searches, "none" ("") for pins."""
        if level not in _SCOPE_LEVELS:
            raise InvalidArgument(f"scope must be one of {_SCOPE_LEVELS}, not {level!r}", -1)
        below = None if any_below else b""
        user, agent, session = self._names
        if level == "user":
            return _lib.Scope(user, below, below)
        if level == "agent":
            return _lib.Scope(user, agent, below)
        return _lib.Scope(user, agent, session)

    # ---- writing --------------------------------------------------------

    def add(self, messages: Union[Message, Sequence[Message]]) -> List[int]:
        """Add one OpenAI-style message or a list of them, atomically.

        Roles: system, user, assistant, tool, note, document. Optional keys:
        ``name``; ``tool_calls`` on assistant messages (each call becomes its
        own tool-call segment: name = function name, text = arguments,
        linked by the call id); ``tool_call_id`` on tool messages; ``key`` and
        ``supersedes`` (a segment id) on notes and documents, for facts that
        change; ``time`` (Unix ms or datetime); ``meta`` (JSON-able dict).

        Returns the new segment ids in order (a duplicate note or document
        returns the id already stored). Raises InvalidArgument for a malformed
        message (no segment of the call is stored), plus the C errors of
        ``ctxmem_store_add``.
        """
        if isinstance(messages, Mapping):
            messages = [messages]
        segs: List[_Seg] = []
        for i, msg in enumerate(messages):
            segs.extend(_message_segments(msg, i))
        if not segs:
            return []
        return self._add_segments(segs)

    def _add_segments(self, segs: List[_Seg]) -> List[int]:
        arr = (_lib.SegmentIn * len(segs))()
        for c, s in zip(arr, segs):
            text = s.text.encode("utf-8")
            c.role, c.time, c.text, c.text_len = s.role, s.time, text, len(text)
            c.name = _utf8(s.name, "name")
            c.pair_id = _utf8(s.pair_id, "pair_id")
            c.key = _utf8(s.key, "key")
            c.meta_json = _utf8(s.meta, "meta")
            c.supersedes = s.supersedes
        ids = (c_uint64 * len(segs))()
        self.store._call(L.ctxmem_store_add, self.store._h(), byref(self._scope), arr,
                         len(segs), ids)
        return list(ids)

    def add_note(self, text: str, key: Optional[str] = None, supersedes: int = 0) -> int:
        """Add an application note (a fact); ``key`` supersedes the scope's note with that key."""
        return self.add({"role": "note", "content": text, "key": key,
                         "supersedes": supersedes})[0]

    # ---- pinned blocks ----------------------------------------------------

    def pin(self, name: str, text: str, priority: int = 0, role: str = "system",
            max_tokens: Optional[int] = None, scope: str = "session") -> None:
        """Create or replace a pinned block (system prompt, persona, profile, ...).

        ``priority`` 0 is never cut; larger numbers (up to 1000) are cut or
        dropped first. ``role`` is system, user, assistant or note.
        ``max_tokens`` is the pin's own limit (None: 8192); longer text raises
        ``ctxmem.Full``. ``scope`` "agent" or "user" pins the block for every
        session below that level.
        """
        if role not in _PIN_ROLES:
            raise InvalidArgument(f"pin: role {role!r} is not one of {sorted(_PIN_ROLES)}", -1)
        data = _utf8(text, "text") or b""
        sc = self._scope_at(scope, any_below=False)
        self.store._call(L.ctxmem_pin_set, self.store._h(), byref(sc), _utf8(name, "name"),
                         _PIN_ROLES[role], data, len(data), int(priority), int(max_tokens or 0))

    def unpin(self, name: str, scope: str = "session") -> None:
        """Remove a pinned block; ``ctxmem.NotFound`` when there is none of that name."""
        sc = self._scope_at(scope, any_below=False)
        self.store._call(L.ctxmem_pin_remove, self.store._h(), byref(sc), _utf8(name, "name"))

    # ---- reading -----------------------------------------------------------

    def window(self, query: Optional[str] = None, budget: int = 0, reserve: int = 0,
               hot_share: Optional[float] = None, warm_share: Optional[float] = None,
               hot_min_turns: Optional[int] = None, k: Optional[int] = None) -> Window:
        """Assemble the context window for the next model call.

        Args:
            query: text the cold tier is ranked by; None uses the latest user turn.
            budget: the model's context limit in tokens (required).
            reserve: tokens kept free for the reply (``reserve < budget``).
            hot_share, warm_share: shares of the space after pins for recent
                turns and summaries; None keeps the defaults (0.5 and 0.15
                when both are None; a missing one counts as 0 otherwise).
            hot_min_turns: recent turns kept even past hot_share (default 2).
            k: cold-tier hits considered (default 20).

        The window may demote old turns into stored summaries (it writes,
        unless the store is read-only). Its tokens, chat framing included,
        never exceed ``budget - reserve``. Raises ``ctxmem.Full`` when the
        priority-0 pins alone do not fit.
        """
        h = self.store._h()
        b = _lib.Budget(version=_lib.BUDGET_VERSION, limit=int(budget),
                        reserve_output=int(reserve),
                        hot_share=float(hot_share or 0.0), warm_share=float(warm_share or 0.0),
                        hot_min_turns=int(hot_min_turns or 0))
        if k is not None:
            opts = _lib.SearchOpts(version=_lib.SEARCH_OPTS_VERSION, k=int(k))
            b.search = ctypes.pointer(opts)
        q = _utf8(query, "query")
        win = c_void_p()
        self.store._call(L.ctxmem_window_assemble, byref(win), h, byref(self._scope), q,
                         len(q) if q else 0, byref(b))
        try:
            tokens = L.ctxmem_window_report_get(win).contents.tokens
            mj, rj = c_void_p(), c_void_p()
            self.store._call(L.ctxmem_window_messages_json, win, byref(mj))
            messages = _lib.take_string(mj)
            self.store._call(L.ctxmem_window_report_json, win, byref(rj))
            report = _lib.take_string(rj)
        finally:
            L.ctxmem_window_free(win)
        return Window(tokens, messages, report)

    def search(self, query: str, k: int = 10, scope: str = "session", with_text: bool = True,
               weight_vector: Optional[float] = None, weight_lexical: Optional[float] = None,
               weight_recency: Optional[float] = None,
               rrf_k: Optional[int] = None) -> List[Dict[str, Any]]:
        """Search the cold tier: the segments most relevant to ``query``.

        Returns up to ``k`` hits (plus adjacent turns pulled in as
        neighbours), best first. Each hit is a dict with ``id``, ``seq``,
        ``tokens``, the fused ``score``, and per signal its raw value, rank
        and contribution to the score: ``vector_score``, ``vector_rank``,
        ``vector_contribution`` (weight_vector / (rrf_k + rank)), the same
        for ``lexical``, ``recency`` and ``recency_contribution``, and
        ``neighbour_of`` (the hit that pulled a neighbour in; neighbours are
        scored from that hit, not from their own signals). With ``with_text``
        each hit also carries the segment's ``role``, ``name``, ``time`` and
        ``text``. Weights left None take ``ctxmem.store.SEARCH_DEFAULTS``.
        """
        given = {"weight_vector": weight_vector, "weight_lexical": weight_lexical,
                 "weight_recency": weight_recency, "rrf_k": rrf_k}
        w = {key: (SEARCH_DEFAULTS[key] if val is None else val) for key, val in given.items()}
        opts = _lib.SearchOpts(version=_lib.SEARCH_OPTS_VERSION, k=int(k),
                               weight_vector=w["weight_vector"],
                               weight_lexical=w["weight_lexical"],
                               weight_recency=w["weight_recency"], rrf_k=int(w["rrf_k"]))
        out = self._search(query, scope, opts, w)
        if with_text:
            for hit in out:
                seg = self.store.get(hit["id"])
                hit.update(role=seg["role"], name=seg["name"], time=seg["time"],
                           text=seg["text"])
        return out

    def _search(self, query: str, scope: str, opts: "_lib.SearchOpts",
                w: Mapping[str, float]) -> List[Dict[str, Any]]:
        data = _utf8(query, "query") or b""
        sc = self._scope_at(scope, any_below=True)
        hits = ctypes.POINTER(_lib.Hit)()
        n = c_size_t()
        h = self.store._h()
        self.store._call(L.ctxmem_search, byref(hits), byref(n), h, byref(sc), 1, data,
                         len(data), byref(opts))
        try:
            return [_hit_dict(hits[i], w) for i in range(n.value)]
        finally:
            L.ctxmem_hits_free(hits)

    def segments(self, from_seq: int = 1) -> Iterator[Dict[str, Any]]:
        """The scope's stored segments in sequence order, from one snapshot."""
        it = c_void_p()
        self.store._call(L.ctxmem_iter_new, byref(it), self.store._h(), byref(self._scope),
                         int(from_seq))
        try:
            seg = ctypes.POINTER(_lib.Segment)()
            while True:
                rc = L.ctxmem_iter_next(it, byref(seg))
                if rc == -6:  # CTXMEM_ENOTFOUND: the end
                    return
                self.store._guard.check(rc)
                yield _segment_dict(seg.contents)
        finally:
            L.ctxmem_iter_free(it)

    def recall(self, arguments: Union[str, Mapping[str, Any]], max_tokens: int = 1024,
               scope: str = "user") -> Dict[str, Any]:
        """Answer a ``memory_search`` tool call (see ``ctxmem.recall_tool()``).

        ``arguments`` is the call's arguments as JSON text or a dict
        (``{"query": str, "k": int}``). ``scope`` is how wide the search
        reaches (default "user": all of this user's memory). Returns
        ``{"results": [{"id", "time", "role", "name", "text", "score"}...]}``
        packed within ``max_tokens``; ``json.dumps`` it as the tool message's
        content.
        """
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        sc = self._scope_at(scope, any_below=True)
        out = c_void_p()
        self.store._call(L.ctxmem_recall_answer, byref(out), self.store._h(), byref(sc),
                         arguments.encode("utf-8"), int(max_tokens))
        return json.loads(_lib.take_string(out))

    def __repr__(self) -> str:
        return f"Session(user={self.user!r}, agent={self.agent!r}, session={self.session!r})"


def _hit_dict(h: "_lib.Hit", w: Mapping[str, float]) -> Dict[str, Any]:
    rrf_k = w["rrf_k"]
    vec = w["weight_vector"] / (rrf_k + h.vector_rank) if h.vector_rank else 0.0
    lex = w["weight_lexical"] / (rrf_k + h.lexical_rank) if h.lexical_rank else 0.0
    return {"id": h.id, "seq": h.seq, "tokens": h.tokens, "score": h.score,
            "vector_score": h.vector_score, "vector_rank": h.vector_rank,
            "vector_contribution": vec, "lexical_score": h.lexical_score,
            "lexical_rank": h.lexical_rank, "lexical_contribution": lex,
            "recency": h.recency, "recency_contribution": w["weight_recency"] * h.recency,
            "neighbour_of": h.neighbour_of}


def recall_tool() -> Dict[str, Any]:
    """The ``memory_search`` tool definition (OpenAI function-calling format) as a dict."""
    return json.loads(L.ctxmem_recall_tool_json().decode("utf-8"))


def version() -> str:
    """The C library's version ("MAJOR.MINOR.PATCH")."""
    return L.ctxmem_version().decode()


__all__ = ["Store", "Session", "Window", "Message", "recall_tool", "version", "Error"]
