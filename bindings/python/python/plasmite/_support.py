"""Enums, exception classes and helpers shared by the native module and the Python modules.

Invariants:
- One exception class per engine error kind, all subclasses of ``PlasmiteError``; the native
  module and the remote client make them through ``_from_native``, so local and remote errors
  look the same (``kind``, ``code``, ``message``, ``hint``, ``path``, ``seq``, ``offset``).
"""

from __future__ import annotations

import datetime as _dt
import enum
import os
import time as _time
from typing import Any, Iterator, List, Optional


class ErrorKind(enum.IntEnum):
    """The stable error kinds (the same numbers as the CLI's exit codes)."""

    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    ALREADY_EXISTS = 4
    BUSY = 5
    PERMISSION = 6
    CORRUPT = 7
    IO = 8
    RETENTION_GAP = 9


class Durability(enum.IntEnum):
    """How far an append goes before it returns: ``FAST`` (stores done) or ``FLUSH`` (msync)."""

    FAST = 0
    FLUSH = 1


class PlasmiteError(RuntimeError):
    """An error of a pool operation: ``kind`` (``ErrorKind``), ``code`` (its number),
    ``message``, ``hint`` (what to do), and where known ``path``, ``seq``, ``offset``; remote
    errors also carry the HTTP ``status``."""

    _default_kind = ErrorKind.INTERNAL

    def __init__(
        self,
        kind: Any,
        message: Optional[str] = None,
        path: Optional[str] = None,
        seq: Optional[int] = None,
        offset: Optional[int] = None,
        *,
        hint: Optional[str] = None,
        status: Optional[int] = None,
    ) -> None:
        if message is None and isinstance(kind, str):
            kind, message = self._default_kind, kind
        try:
            kind = ErrorKind(kind)
        except ValueError:
            kind = ErrorKind.INTERNAL
        if not message:
            message = _DEFAULT_MESSAGES[kind]
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message: str = message
        self.path = path
        self.seq = seq
        self.offset = offset
        self.hint = hint
        self.status = status

    @property
    def code(self) -> int:
        """The kind's number."""
        return int(self.kind)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = "".join(
            f", {k}={v!r}"
            for k, v in (("path", self.path), ("seq", self.seq), ("offset", self.offset), ("hint", self.hint))
            if v is not None
        )
        return f"{type(self).__name__}({self.kind.name}, {self.message!r}{extra})"


class InternalError(PlasmiteError):
    _default_kind = ErrorKind.INTERNAL


class UsageError(PlasmiteError):
    _default_kind = ErrorKind.USAGE


class NotFoundError(PlasmiteError):
    _default_kind = ErrorKind.NOT_FOUND


class AlreadyExistsError(PlasmiteError):
    _default_kind = ErrorKind.ALREADY_EXISTS


class BusyError(PlasmiteError):
    _default_kind = ErrorKind.BUSY


class PermissionDeniedError(PlasmiteError):
    _default_kind = ErrorKind.PERMISSION


class CorruptError(PlasmiteError):
    _default_kind = ErrorKind.CORRUPT


class IoError(PlasmiteError):
    _default_kind = ErrorKind.IO


class RetentionGapError(PlasmiteError):
    _default_kind = ErrorKind.RETENTION_GAP


_BY_KIND = {
    ErrorKind.INTERNAL: InternalError,
    ErrorKind.USAGE: UsageError,
    ErrorKind.NOT_FOUND: NotFoundError,
    ErrorKind.ALREADY_EXISTS: AlreadyExistsError,
    ErrorKind.BUSY: BusyError,
    ErrorKind.PERMISSION: PermissionDeniedError,
    ErrorKind.CORRUPT: CorruptError,
    ErrorKind.IO: IoError,
    ErrorKind.RETENTION_GAP: RetentionGapError,
}

_DEFAULT_MESSAGES = {
    ErrorKind.INTERNAL: "internal error",
    ErrorKind.USAGE: "usage error",
    ErrorKind.NOT_FOUND: "not found",
    ErrorKind.ALREADY_EXISTS: "already exists",
    ErrorKind.BUSY: "resource is busy",
    ErrorKind.PERMISSION: "permission denied",
    ErrorKind.CORRUPT: "corrupt data",
    ErrorKind.IO: "i/o error",
    ErrorKind.RETENTION_GAP: "retention gap",
}

# The kind names of the JSON error object (HTTP, CLI) to their numbers.
_KIND_NAMES = {
    "Internal": 1,
    "Usage": 2,
    "NotFound": 3,
    "AlreadyExists": 4,
    "Busy": 5,
    "Permission": 6,
    "Corrupt": 7,
    "Io": 8,
    "RetentionGap": 9,
}


def _from_native(
    code: int,
    message: Optional[str],
    hint: Optional[str],
    path: Optional[str],
    seq: Optional[int],
    offset: Optional[int],
    status: Optional[int] = None,
) -> PlasmiteError:
    try:
        kind = ErrorKind(code)
    except ValueError:
        kind = ErrorKind.INTERNAL
    cls = _BY_KIND[kind]
    return cls(kind, message, path, seq, offset, hint=hint, status=status)


def _from_json(obj: Any, status: Optional[int] = None) -> PlasmiteError:
    """The exception of a JSON error object ``{"kind", "message", "hint"?, ...}``."""
    if not isinstance(obj, dict):
        obj = {}
    code = _KIND_NAMES.get(obj.get("kind"), int(ErrorKind.IO))

    def opt_int(v: Any) -> Optional[int]:
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    message = obj.get("message")
    return _from_native(
        code,
        message if isinstance(message, str) else None,
        obj.get("hint") if isinstance(obj.get("hint"), str) else None,
        obj.get("path") if isinstance(obj.get("path"), str) else None,
        opt_int(obj.get("seq")),
        opt_int(obj.get("offset")),
        status,
    )


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _time_from_ns(ns: int) -> _dt.datetime:
    """A UTC datetime of Unix nanoseconds (truncated to microseconds)."""
    return _EPOCH + _dt.timedelta(microseconds=ns // 1000)


def _replay(tail: Any, speed: float) -> Iterator[Any]:
    """Yields the tail's messages, sleeping (difference of append times) / speed before each
    message after the first."""
    with tail:
        prev = None
        for m in tail:
            ts = m.timestamp_ns
            if prev is not None and ts is not None and ts > prev:
                _time.sleep((ts - prev) / 1e9 / speed)
            if ts is not None:
                prev = ts
            yield m


_PLS: List[Optional[str]] = []


def _pls_path() -> Optional[str]:
    """The ``pls`` this package installed (it evaluates ``where`` expressions out of process),
    or None (then they run in this process)."""
    if not _PLS:
        found = None
        try:
            from importlib.metadata import PackageNotFoundError, files

            for f in files("plasmite") or []:
                if f.name == "pls" and f.parent.name in ("bin", "scripts", "Scripts"):
                    candidate = str(f.locate())
                    if os.access(candidate, os.X_OK):
                        found = os.path.realpath(candidate)
                        break
        except (ImportError, PackageNotFoundError):
            pass
        _PLS.append(found)
    result: Optional[str] = _PLS[0]
    return result
