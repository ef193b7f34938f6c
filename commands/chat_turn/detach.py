"""Run an async generator to completion even if its consumer goes away.

A chat turn must record its outcome whether or not the visitor's browser is still
listening, so the SSE response reads from a queue that a detached task fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("chatassist.turn")
_RUNNING: set[asyncio.Task[None]] = set()
_END = object()


async def detached(source: AsyncIterator[T]) -> AsyncIterator[T]:
    """Yield what ``source`` yields; ``source`` keeps running if this iterator is abandoned."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for item in source:
                queue.put_nowait(item)
        except Exception as exc:  # surfaced to the consumer, and logged if nobody listens
            log.exception("chat turn failed")
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_END)

    task = asyncio.create_task(pump())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    while True:
        item = await queue.get()
        if item is _END:
            return
        if isinstance(item, Exception):
            raise item
        yield item  # type: ignore[misc]


class Pumped(Generic[T]):
    """What ``pumped`` returns: the items of a source that already runs in a task of its own."""

    def __init__(self, source: AsyncIterator[T]) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump(source))
        _RUNNING.add(self._task)
        self._task.add_done_callback(_RUNNING.discard)
        self._ended = False

    async def _pump(self, source: AsyncIterator[T]) -> None:
        try:
            async for item in source:
                self._queue.put_nowait(item)
        except Exception as exc:  # surfaced to the consumer, and logged if nobody listens
            log.exception("chat turn failed")
            self._queue.put_nowait(exc)
        finally:
            self._queue.put_nowait(_END)

    def cancel(self) -> None:
        """Stop the source (its ``finally`` blocks and ``async with`` exits run): for a turn refused after it began."""
        self._task.cancel()

    def __aiter__(self) -> Pumped[T]:
        return self

    async def __anext__(self) -> T:
        if self._ended:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._ended = True
            raise StopAsyncIteration
        if isinstance(item, Exception):
            self._ended = True
            raise item
        return item  # type: ignore[return-value]


def pumped(source: AsyncIterator[T]) -> Pumped[T]:
    """Like ``detached``, but ``source`` starts running now, not when the first item is asked for (a chat turn's
    model call starts while its message's save commits: ADR 0069)."""
    return Pumped(source)


async def drain() -> None:
    """Wait for every detached turn still running (used at shutdown and in tests)."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)
