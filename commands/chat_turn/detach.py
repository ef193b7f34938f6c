"""Run an async generator to completion even if its consumer goes away.

A chat turn must record its outcome whether or not the visitor's browser is still
listening, so the SSE response reads from a queue that a detached task fills.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TypeVar

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


async def drain() -> None:
    """Wait for every detached turn still running (used at shutdown and in tests)."""
    while _RUNNING:
        await asyncio.gather(*list(_RUNNING), return_exceptions=True)
