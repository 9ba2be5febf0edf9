"""``Pool.atail``: a tail as an asyncio async iterator.

Invariants:
- The event loop never blocks: a message already available is taken at once (with a yield to
  the loop every few messages, so a long backlog does not starve other tasks); otherwise the
  wait runs in a worker thread, where it parks on the pool's wake word without the GIL.
- Cancelling an ``await`` loses nothing: the worker only waits, and a message it found is kept
  by the tail and delivered by the next ``__anext__``. The worker gives up within ``_WAIT_MS``
  after its awaiter went away, or within 50 ms of ``close()``.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._native import Message, Tail

_WAIT_MS = 250
_YIELD_EVERY = 64

_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()


def _waiters() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="plasmite-wait")
        return _executor


class ATail:
    """An async iterator of ``Message`` over a ``Tail``; ``close()``/``aclose()`` or
    ``async with`` end it."""

    def __init__(self, tail: "Tail") -> None:
        self._tail = tail
        self._burst = 0

    def __aiter__(self) -> "ATail":
        return self

    async def __anext__(self) -> "Message":
        tail = self._tail
        while True:
            m = tail._poll()
            if m is not None:
                self._burst += 1
                if self._burst >= _YIELD_EVERY:
                    self._burst = 0
                    await asyncio.sleep(0)
                return m
            if tail.ended:
                raise StopAsyncIteration
            self._burst = 0
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_waiters(), tail._wait, _WAIT_MS)

    @property
    def ended(self) -> bool:
        return bool(self._tail.ended)

    def close(self) -> None:
        self._tail.close()

    async def aclose(self) -> None:
        self._tail.close()

    async def __aenter__(self) -> "ATail":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._tail.close()
