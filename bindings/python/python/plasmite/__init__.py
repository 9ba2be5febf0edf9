"""plasmite: persistent JSON message pools (bounded ring buffers in one mmap'd file).

Local pools are driven by a native extension over the engine (``Client``, ``Pool``, streams
and tails whose waits release the GIL and wake on the pool's futex); remote pools talk to
``pls serve`` over HTTP (``RemoteClient``, ``RemotePool``). Both return ``Message`` objects and
raise ``PlasmiteError`` subclasses. The wheel also installs the ``pls`` and ``plasmite``
commands.
"""

from __future__ import annotations

import os as _os

from ._support import (
    AlreadyExistsError,
    BusyError,
    CorruptError,
    Durability,
    ErrorKind,
    InternalError,
    IoError,
    NotFoundError,
    PermissionDeniedError,
    PlasmiteError,
    RetentionGapError,
    UsageError,
)
from ._native import (
    Client,
    Lite3Frame,
    Lite3Stream,
    Message,
    MessageMeta,
    Pool,
    Stream,
    Tail,
    __version__,
)
from ._aio import ATail
from ._remote import RemoteClient, RemotePool, RemoteTail, parse_message

DEFAULT_POOL_SIZE_BYTES = 1024 * 1024
DEFAULT_POOL_SIZE = DEFAULT_POOL_SIZE_BYTES


def default_pool_dir() -> str:
    """``~/.plasmite/pools``, evaluated at each call."""
    return _os.path.expanduser("~/.plasmite/pools")


DEFAULT_POOL_DIR = default_pool_dir()

__all__ = [
    "ErrorKind",
    "Durability",
    "DEFAULT_POOL_SIZE_BYTES",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_DIR",
    "default_pool_dir",
    "parse_message",
    "Client",
    "Pool",
    "Stream",
    "Lite3Stream",
    "Tail",
    "ATail",
    "Message",
    "MessageMeta",
    "Lite3Frame",
    "RemoteClient",
    "RemotePool",
    "RemoteTail",
    "PlasmiteError",
    "InternalError",
    "UsageError",
    "NotFoundError",
    "AlreadyExistsError",
    "BusyError",
    "PermissionDeniedError",
    "CorruptError",
    "IoError",
    "RetentionGapError",
]
