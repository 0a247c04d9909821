"""Exceptions: one ``ctxmem.Error`` subclass per C error code."""
from __future__ import annotations

from typing import Dict, Optional, Type

from . import _lib


class Error(Exception):
    """Base of every ctxmem error.

    ``code`` is the C ``ctxmem_error_code`` (negative) and ``message`` the
    one-line detail the library recorded (``ctxmem_error_last``), which names
    the bad value and the layer that failed. Errors detected in Python before
    any C call carry the code they would have had in C.
    """

    code: int = 0

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message: str = message
        if code is not None:
            self.code = code


class InvalidArgument(Error, ValueError):
    """CTXMEM_EINVAL: an argument is missing, out of range or malformed."""
    code = -1


class OutOfMemory(Error, MemoryError):
    """CTXMEM_ENOMEM: an allocation failed."""
    code = -2


class IOFailure(Error, OSError):
    """CTXMEM_EIO: the operating system refused a file operation."""
    code = -3


class Full(Error):
    """CTXMEM_EFULL: a size limit was reached (map size, budget, pin limit)."""
    code = -4


class Corrupt(Error):
    """CTXMEM_ECORRUPT: stored data failed a consistency check."""
    code = -5


class NotFound(Error, LookupError):
    """CTXMEM_ENOTFOUND: the requested item (store, segment, pin, rank file) does not exist."""
    code = -6


class VersionMismatch(Error):
    """CTXMEM_EVERSION: the store was written by a newer, incompatible format."""
    code = -7


class Mismatch(Error):
    """CTXMEM_EMISMATCH: store and caller disagree (embedder, tokenizer, language)."""
    code = -8


class CallbackError(Error):
    """CTXMEM_ECALLBACK: an application callback (embedder, summarizer) reported failure.

    When the callback was a Python callable that raised, that exception is
    re-raised instead, chained to this one (``raise exc from CallbackError``).
    """
    code = -9


class ReadOnly(Error):
    """CTXMEM_EREADONLY: a write on a store opened read-only."""
    code = -10


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls for cls in (InvalidArgument, OutOfMemory, IOFailure, Full, Corrupt, NotFound,
                              VersionMismatch, Mismatch, CallbackError, ReadOnly)
}


def from_code(code: int) -> Error:
    """Build the exception for a failed C call; call it right after the call, same thread."""
    rec = _lib.lib.ctxmem_error_last().contents
    message = (rec.message or b"").decode("utf-8", "replace")
    if rec.code != code or not message:
        name = (_lib.lib.ctxmem_strerror(code) or b"error").decode()
        message = message if rec.code == code and message else name
    cls = _BY_CODE.get(code, Error)
    return cls(message, code)


__all__ = ["Error", "InvalidArgument", "OutOfMemory", "IOFailure", "Full", "Corrupt",
           "NotFound", "VersionMismatch", "Mismatch", "CallbackError", "ReadOnly", "from_code"]
