"""How the read queries reach PostgreSQL: planned statements sent in one round trip, from a thread (``drive``, on a
view's pool) or from the web app's event loop (``AsyncReader``, no thread hop).

A query module plans its statements and how their rows make its answer (``Planned``); a read that needs an answer
before it can plan the rest (the analytics' workspace facts) is a generator of such round trips (``Reads``): it
yields the statements of one round trip and receives their rows. The same generator runs on either driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio.to_thread
from psycopg import AsyncConnection, conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from projections._common import TrackedView

T = TypeVar("T")
Rows = list[dict[str, Any]]
Statement = tuple[str, dict[str, Any] | Sequence[Any]]
Reads = Generator[list[Statement], list[Rows], T]
"""Yields the statements of one round trip, is sent their rows, returns the answer."""
log = logging.getLogger("chatassist.read")


@dataclass(frozen=True)
class Planned(Generic[T]):
    """The statements a read sends and how their rows make its answer: so that several can be sent at once."""

    statements: list[Statement]
    assemble: Callable[[list[Rows]], T]


def once(planned: Planned[T]) -> Reads[T]:
    """A read of one round trip."""
    return planned.assemble((yield planned.statements))


def combined(parts: dict[str, Planned[Any]]) -> Planned[dict[str, Any]]:
    """Several reads as one plan (one round trip): their answers by name."""
    statements = [statement for part in parts.values() for statement in part.statements]

    def assemble(rows: list[Rows]) -> dict[str, Any]:
        out, at = {}, 0
        for name, part in parts.items():
            out[name] = part.assemble(rows[at : at + len(part.statements)])
            at += len(part.statements)
        return out

    return Planned(statements, assemble)


def query_all(view: TrackedView, statements: Sequence[Statement]) -> list[Rows]:
    """The rows of each statement, all sent in one round trip (a pipeline on one connection of the view's pool;
    inside a page of the view, on the page's cursor one after the other)."""
    if view.page_cursor() is not None or len(statements) <= 1:
        return [view.query(sql, params) for sql, params in statements]
    with view.datastore.get_connection() as conn:
        with conn.pipeline():
            cursors = [conn.execute(sql.encode(), params, prepare=True) for sql, params in statements]
        return [list(cursor.fetchall()) for cursor in cursors]


def drive(view: TrackedView, reads: Reads[T]) -> T:
    """Run a read to its answer on a view's pool (blocking: call in a thread)."""
    try:
        statements = next(reads)
        while True:
            statements = reads.send(query_all(view, statements))
    except StopIteration as done:
        answer: T = done.value
        return answer


def run(view: TrackedView, planned: Planned[T]) -> T:
    """A planned read of one round trip, on a view's pool (blocking)."""
    return drive(view, once(planned))


class AsyncReader:
    """Reads from the web app's event loop: an asyncio pool of autocommit connections to the views' database (from
    ``view``'s settings), so a dashboard request does not hop to a worker thread and back. Without a usable pool
    (``view`` has none) it runs ``drive`` in a worker thread. Close it when the app shuts down."""

    def __init__(self, view: TrackedView, *, min_size: int = 0, max_size: int = 2) -> None:
        self.view = view
        self.pool: AsyncConnectionPool[AsyncConnection[DictRow]] | None = None
        self.opened = False  # opened on first use, in the loop that uses it (an app that serves no read opens none)
        source = getattr(getattr(view, "datastore", None), "pool", None)
        if source is not None:
            params = {k: v for k, v in source.kwargs.items() if k != "row_factory" and v not in (None, "")}
            self.pool = AsyncConnectionPool(
                conninfo.make_conninfo(source.conninfo, **params),
                kwargs={"autocommit": True, "row_factory": dict_row},
                min_size=min_size,
                max_size=max_size,
                open=False,
                name="read",
                timeout=float(getattr(source, "timeout", 30.0)),  # the view pool's wait: bounded the same
                reconnect_timeout=5.0,  # give up a failed reconnect soon, and grow again on the next read
            )

    async def close(self) -> None:
        """Close the pool (app shutdown)."""
        if self.pool is not None:
            await self.pool.close()

    async def query_all(self, statements: Sequence[Statement]) -> list[Rows]:
        """The rows of each statement, all sent in one round trip."""
        assert self.pool is not None
        if not statements:
            return []
        if not self.opened:
            await self.pool.open()
            self.opened = True
        async with self.pool.connection() as conn:
            if len(statements) == 1:
                sql, params = statements[0]
                cursor = await conn.execute(sql.encode(), params, prepare=True)
                return [list(await cursor.fetchall())]
            async with conn.pipeline():
                cursors = [await conn.execute(sql.encode(), params, prepare=True) for sql, params in statements]
            return [list(await cursor.fetchall()) for cursor in cursors]

    async def drive(self, reads: Reads[T]) -> T:
        """Run a read to its answer."""
        if self.pool is None:
            return await anyio.to_thread.run_sync(drive, self.view, reads)
        try:
            statements = next(reads)
            while True:
                statements = reads.send(await self.query_all(statements))
        except StopIteration as done:
            answer: T = done.value
            return answer

    async def run(self, planned: Planned[T]) -> T:
        """A planned read of one round trip."""
        return await self.drive(once(planned))
