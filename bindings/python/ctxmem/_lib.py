"""Loading libctxmem.so and declaring its C API for ctypes (private module).

The library is looked for, in this order (the first that exists is loaded):

1. the file named by the environment variable ``CTXMEM_LIBRARY``;
2. a ``libctxmem.so*`` bundled inside this package (copied in at install
   time when ``CTXMEM_BUNDLE_LIBRARY`` named one);
3. the CMake build tree of the checkout the package was installed from
   (``<checkout>/build/engine/libctxmem.so``);
4. the system's library paths (``ctypes.util.find_library("ctxmem")``,
   then ``libctxmem.so.0`` through the dynamic loader).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int64, c_size_t,
                    c_uint, c_uint32, c_uint64, c_void_p)
from typing import List, Optional, Tuple

_HERE = os.path.dirname(os.path.abspath(__file__))


# ---- C structures (mirror include/ctxmem/*.h; keep the field order) --------

class ErrorRecord(Structure):
    _fields_ = [("code", c_int), ("message", c_char_p)]


class Scope(Structure):
    _fields_ = [("user", c_char_p), ("agent", c_char_p), ("session", c_char_p)]


class SegmentIn(Structure):
    _fields_ = [("role", c_int), ("time", c_int64), ("text", c_char_p), ("text_len", c_size_t),
                ("name", c_char_p), ("meta_json", c_char_p), ("pair_id", c_char_p),
                ("flags", c_uint32), ("key", c_char_p), ("supersedes", c_uint64),
                ("embedding", POINTER(c_float)), ("embedding_dim", c_size_t)]


class Segment(Structure):
    _fields_ = [("id", c_uint64), ("scope", c_uint32), ("seq", c_uint64), ("role", c_int),
                ("time", c_int64), ("flags", c_uint32), ("tokens", c_uint32),
                ("text", c_void_p), ("text_len", c_size_t), ("name", c_char_p),
                ("meta_json", c_char_p), ("pair_id", c_char_p), ("key", c_char_p),
                ("supersedes", c_uint64)]


class StoreInfo(Structure):
    _fields_ = [("format", c_uint32), ("segments", c_uint64), ("scopes", c_uint64),
                ("tokens", c_uint64), ("map_size", c_size_t), ("used_bytes", c_size_t),
                ("tokenizer", c_char_p), ("embedder", c_char_p), ("embedder_dim", c_size_t),
                ("language", c_char_p)]


EMBED_FN = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(c_void_p), POINTER(c_size_t), c_size_t,
                            POINTER(c_float))


class EmbedderStruct(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("dim", c_size_t), ("embed", EMBED_FN),
                ("user", c_void_p)]


class Options(Structure):
    _fields_ = [("version", c_uint), ("flags", c_uint), ("map_size", c_size_t),
                ("map_size_max", c_size_t), ("max_segment_bytes", c_size_t),
                ("tokenizer", c_char_p), ("tokenizer_dir", c_char_p),
                ("tokenizer_handle", c_void_p), ("embedder", POINTER(EmbedderStruct)),
                ("language", c_char_p), ("vector_index", c_uint), ("vector_flat_max", c_size_t)]


class SearchOpts(Structure):
    _fields_ = [("version", c_uint), ("k", c_size_t), ("signals", c_uint), ("roles", c_uint32),
                ("time_from", c_int64), ("time_to", c_int64),
                ("query_embedding", POINTER(c_float)), ("query_embedding_dim", c_size_t),
                ("weight_vector", c_float), ("weight_lexical", c_float),
                ("weight_recency", c_float), ("rrf_k", c_uint), ("neighbours", c_int),
                ("neighbour_weight", c_float), ("depth", c_size_t), ("bm25_k1", c_float),
                ("bm25_b", c_float)]


class Hit(Structure):
    _fields_ = [("id", c_uint64), ("scope", c_uint32), ("seq", c_uint64), ("tokens", c_uint32),
                ("score", c_float), ("vector_score", c_float), ("lexical_score", c_float),
                ("recency", c_float), ("vector_rank", c_int), ("lexical_rank", c_int),
                ("neighbour_of", c_uint64)]


SUMMARIZE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_size_t, c_void_p,
                                c_size_t, POINTER(c_size_t))


class SummarizerStruct(Structure):
    _fields_ = [("version", c_uint), ("name", c_char_p), ("max_input_tokens", c_size_t),
                ("summarize", SUMMARIZE_FN), ("user", c_void_p)]


class ChatFraming(Structure):
    _fields_ = [("version", c_uint), ("per_message", c_uint), ("per_name", c_uint),
                ("reply_priming", c_uint)]


class Budget(Structure):
    _fields_ = [("version", c_uint), ("limit", c_size_t), ("reserve_output", c_size_t),
                ("hot_share", c_float), ("warm_share", c_float), ("hot_min_turns", c_size_t),
                ("search", POINTER(SearchOpts)), ("framing", POINTER(ChatFraming))]


class WindowReport(Structure):
    """The leading fields of ctxmem_window_report (only these are read)."""
    _fields_ = [("tokenizer", c_char_p), ("tokenizer_exact", c_int), ("limit", c_size_t),
                ("reserve_output", c_size_t), ("available", c_size_t), ("tokens", c_size_t)]


OPTIONS_VERSION = 1
EMBEDDER_VERSION = 1
SEARCH_OPTS_VERSION = 1
SUMMARIZER_VERSION = 1
BUDGET_VERSION = 1

OPEN_READONLY = 1 << 0
OPEN_NOCREATE = 1 << 1
OPEN_REEMBED = 1 << 2
OPEN_NOSYNC = 1 << 3

ROLE_SYSTEM, ROLE_USER, ROLE_ASSISTANT, ROLE_TOOL_CALL, ROLE_TOOL_RESULT = 1, 2, 3, 4, 5
ROLE_DOCUMENT, ROLE_NOTE, ROLE_SUMMARY = 6, 7, 8

# (name, restype, argtypes)
_PROTOTYPES = [
    ("ctxmem_error_last", POINTER(ErrorRecord), []),
    ("ctxmem_error_clear", None, []),
    ("ctxmem_strerror", c_char_p, [c_int]),
    ("ctxmem_version", c_char_p, []),
    ("ctxmem_role_name", c_char_p, [c_int]),
    ("ctxmem_tier_name", c_char_p, [c_int]),
    ("ctxmem_store_open", c_int, [POINTER(c_void_p), c_char_p, POINTER(Options)]),
    ("ctxmem_store_close", None, [c_void_p]),
    ("ctxmem_store_tokenizer", c_void_p, [c_void_p]),
    ("ctxmem_store_add", c_int,
     [c_void_p, POINTER(Scope), POINTER(SegmentIn), c_size_t, POINTER(c_uint64)]),
    ("ctxmem_store_get", c_int, [POINTER(POINTER(Segment)), c_void_p, c_uint64]),
    ("ctxmem_segment_free", None, [POINTER(Segment)]),
    ("ctxmem_store_stat", c_int, [c_void_p, POINTER(StoreInfo)]),
    ("ctxmem_store_forget", c_int, [c_void_p, c_uint64]),
    ("ctxmem_iter_new", c_int, [POINTER(c_void_p), c_void_p, POINTER(Scope), c_uint64]),
    ("ctxmem_iter_next", c_int, [c_void_p, POINTER(POINTER(Segment))]),
    ("ctxmem_iter_free", None, [c_void_p]),
    ("ctxmem_tokenizer_name", c_char_p, [c_void_p]),
    ("ctxmem_tokenizer_count", c_int, [c_void_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    ("ctxmem_search", c_int,
     [POINTER(POINTER(Hit)), POINTER(c_size_t), c_void_p, POINTER(Scope), c_size_t, c_char_p,
      c_size_t, POINTER(SearchOpts)]),
    ("ctxmem_hits_free", None, [POINTER(Hit)]),
    ("ctxmem_pin_set", c_int,
     [c_void_p, POINTER(Scope), c_char_p, c_int, c_char_p, c_size_t, c_uint, c_size_t]),
    ("ctxmem_pin_remove", c_int, [c_void_p, POINTER(Scope), c_char_p]),
    ("ctxmem_store_set_summarizer", c_int, [c_void_p, POINTER(SummarizerStruct)]),
    ("ctxmem_window_assemble", c_int,
     [POINTER(c_void_p), c_void_p, POINTER(Scope), c_char_p, c_size_t, POINTER(Budget)]),
    ("ctxmem_window_free", None, [c_void_p]),
    ("ctxmem_window_report_get", POINTER(WindowReport), [c_void_p]),
    ("ctxmem_window_report_json", c_int, [c_void_p, POINTER(c_void_p)]),
    ("ctxmem_window_messages_json", c_int, [c_void_p, POINTER(c_void_p)]),
    ("ctxmem_recall_tool_json", c_char_p, []),
    ("ctxmem_recall_answer", c_int,
     [POINTER(c_void_p), c_void_p, POINTER(Scope), c_char_p, c_size_t]),
]


def _package_root_checkout() -> Optional[str]:
    """The checkout this package belongs to: recorded at install, or the source tree itself."""
    try:
        from . import _build_config  # written by setup.py at install time
        root = getattr(_build_config, "SOURCE_DIR", None)
    except ImportError:
        root = None
    if root and os.path.isfile(os.path.join(root, "include", "ctxmem.h")):
        return root
    guess = os.path.abspath(os.path.join(_HERE, "..", "..", ".."))
    if os.path.isfile(os.path.join(guess, "include", "ctxmem.h")):
        return guess
    return None


def candidates() -> List[Tuple[str, str]]:
    """Every place the library is looked for, in order, as (how, path-or-name)."""
    out: List[Tuple[str, str]] = []
    env = os.environ.get("CTXMEM_LIBRARY")
    if env:
        out.append(("CTXMEM_LIBRARY", env))
    for path in sorted(glob.glob(os.path.join(_HERE, "libctxmem.so*")), key=len):
        out.append(("bundled", path))
    root = _package_root_checkout()
    if root:
        out.append(("build tree", os.path.join(root, "build", "engine", "libctxmem.so")))
    found = ctypes.util.find_library("ctxmem")
    if found:
        out.append(("system", found))
    out.append(("system", "libctxmem.so.0"))
    return out


def _load() -> Tuple[ctypes.CDLL, str, str]:
    tried = []
    env = os.environ.get("CTXMEM_LIBRARY")
    for how, path in candidates():
        is_file = os.sep in path
        if is_file and not os.path.exists(path):
            tried.append(f"{path} ({how}: no such file)")
            if how == "CTXMEM_LIBRARY":
                break  # an explicit choice must not silently fall back
            continue
        try:
            return ctypes.CDLL(path), path, how
        except OSError as e:
            tried.append(f"{path} ({how}: {e})")
            if how == "CTXMEM_LIBRARY":
                break
    hint = " (CTXMEM_LIBRARY is set: nothing else was tried)" if env else ""
    raise ImportError("ctxmem: cannot load libctxmem.so" + hint + "; tried: " + "; ".join(tried)
                      + ". Build it with cmake, or set CTXMEM_LIBRARY to its path.")


lib, LIBRARY_PATH, LIBRARY_SOURCE = _load()

for _name, _res, _args in _PROTOTYPES:
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args

_libc = ctypes.CDLL(None)
c_free = _libc.free
c_free.restype = None
c_free.argtypes = [c_void_p]


def take_string(ptr: c_void_p) -> str:
    """Copy a malloc'd NUL-terminated UTF-8 string from C and free it."""
    if not ptr.value:
        return ""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8")
    finally:
        c_free(ptr.value)


def default_tokenizer_dir() -> Optional[str]:
    """Rank-file directory next to the loaded library, when it is a build tree or bundled."""
    if not os.path.isabs(LIBRARY_PATH):
        return None
    libdir = os.path.dirname(os.path.realpath(LIBRARY_PATH))
    for d in (os.path.join(_HERE, "tokenizers"),
              os.path.join(libdir, "..", "share", "ctxmem", "tokenizers")):
        if glob.glob(os.path.join(d, "*.tiktoken")):
            return os.path.abspath(d)
    return None


__all__ = ["lib", "LIBRARY_PATH", "LIBRARY_SOURCE", "c_double"]
