"""ctxmem: embeddable context-window memory for LLM applications (Python bindings).

    import ctxmem
    with ctxmem.Store("memdir") as store:
        s = store.session(user="u1", agent="helper", session="s1")
        s.add({"role": "user", "content": "My flight leaves at 9."})
        win = s.window(budget=8000, reserve=1000)
        chat_api(messages=win.messages)   # log win.report

The bindings call libctxmem.so through ctypes; see README.md for how the
library is found (``ctxmem.LIBRARY_PATH`` says which file was loaded).
"""
from __future__ import annotations

from ._lib import LIBRARY_PATH, LIBRARY_SOURCE
from .callbacks import EmbedFunction, Embedder, SummarizeFunction, Summarizer
from .errors import (CallbackError, Corrupt, Error, Full, InvalidArgument, IOFailure, Mismatch,
                     NotFound, OutOfMemory, ReadOnly, VersionMismatch)
from .store import Message, Session, Store, Window, recall_tool, version

__version__: str = "0.1.0"

__all__ = [
    "Store", "Session", "Window", "Message", "Embedder", "Summarizer", "EmbedFunction",
    "SummarizeFunction", "recall_tool", "version", "LIBRARY_PATH", "LIBRARY_SOURCE",
    "Error", "InvalidArgument", "OutOfMemory", "IOFailure", "Full", "Corrupt", "NotFound",
    "VersionMismatch", "Mismatch", "CallbackError", "ReadOnly", "__version__",
]
