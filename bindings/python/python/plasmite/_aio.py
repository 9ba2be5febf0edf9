"""``Pool.atail``: a tail as an asyncio async iterator.

Invariants:
- The event loop never blocks and no thread waits for it: a message already available is
  taken at once (with a yield to the loop every few messages, so a long backlog does not
  starve other tasks); otherwise the tail arms its wait with the pool's wake hub, which rings
  the tail's bell (an eventfd the loop watches with ``add_reader``) when a message arrives,
  the tail's timeout passes or the tail is closed.
- Cancelling an ``await`` loses nothing: the wait only watches the bell, and the next
  ``__anext__`` polls the tail again.
- One wait per tail at a time: concurrent ``__anext__`` calls on one tail take turns.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ._native import Message, Tail

_YIELD_EVERY = 64
# What ``Tail._arm`` answers.
_READY, _ARMED, _BUSY = 0, 1, 2
# How long to wait before trying again while another thread reads the same tail.
_BUSY_S = 0.01


class ATail:
    """An async iterator of ``Message`` over a ``Tail``; ``close()``/``aclose()`` or
    ``async with`` end it."""

    def __init__(self, tail: "Tail") -> None:
        self._tail = tail
        self._burst = 0
        self._turn: Optional[asyncio.Lock] = None

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
            if self._turn is None:
                self._turn = asyncio.Lock()
            async with self._turn:
                armed = tail._arm()
                if armed == _ARMED:
                    await _rung(tail)
                else:
                    # News already (or another thread reads the tail): look again, letting
                    # the loop run first.
                    await asyncio.sleep(_BUSY_S if armed == _BUSY else 0)

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


async def _rung(tail: "Tail") -> None:
    """Returns once the tail's bell has rung, then quiets it."""
    loop = asyncio.get_running_loop()
    fd = tail._bell_fd
    rung: asyncio.Future[None] = loop.create_future()

    def ring() -> None:
        if not rung.done():
            rung.set_result(None)

    loop.add_reader(fd, ring)
    try:
        await rung
    finally:
        loop.remove_reader(fd)
        tail._quiet()
