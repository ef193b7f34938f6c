"""The newest events of the store, read once per wake-up for every projection runner of a process (ADR 0070).

Each append NOTIFYs the store's channel and wakes every runner of the process. Before, each runner then read "my
topics after my position" itself: six reads of the same few events per append, and the runners whose topics were
not among them read nothing at the cost of a planned query. A ``Tail`` keeps the events after some position
(``floor``) up to the newest one read (``head``), every event in between, in order. The first runner to ask after
a notice reads what is new (one query, all topics), decodes nothing yet; each runner then takes its topics' events
from memory (each event decoded once, by the first runner that takes it), and a runner with none waits again
without a query.

Why every event between ``floor`` and ``head`` is there: the store's appends hold its table lock until they commit
(ADR 0010), so the ids that a read sees are a prefix of those that will ever commit; the runners already rest on
this (they read ``notification_id > position``). A notice is counted before the runners are woken, and a read
covers the notices counted before it started, so a notice that comes during a read makes the next ask read again.

A runner whose position is before ``floor`` (at its start, after a long pause, a rebuild's swap) reads the store
itself, as before; once such a read of its own came back short, it has seen everything up to the ``floor`` it saw
before the read (those events had committed), and asks the tail from then on. The fallback tick (a wake-up without
a notice) reads the store directly too, so a write that bypassed the append is still found.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from projections._paging import Decoded, StoredRow, read_page

READ_LIMIT = 2000  # events per read of the tail; more are read by the next ask
NEWEST_SQL = "SELECT max(notification_id) AS newest FROM {}"
CAP = 5000  # events kept at most (the oldest are dropped; a runner behind them reads the store itself)


class Taken(NamedTuple):
    """A runner's share of the tail: its events (at most the limit asked), decoded when they could be (else None:
    the page decodes them itself, and stops or parks at one it cannot decode), and ``seen``: the position up to
    which nothing else of its topics exists (None while the tail holds more: ask again before waiting)."""

    rows: list[StoredRow]
    events: list[Decoded] | None
    seen: int | None


class Tail:
    """The events after ``floor`` up to ``head`` (all topics), shared by the runners of a process."""

    def __init__(self, events_table: str, *, read_limit: int = READ_LIMIT, cap: int = CAP) -> None:
        self.events_table, self.read_limit, self.cap = events_table, read_limit, cap
        self._lock = threading.Lock()
        self._rows: list[StoredRow] = []
        self._ids: list[int] = []
        self._decoded: dict[int, Decoded] = {}
        self.floor: int | None = None  # None: nothing read yet
        self._head = 0
        self._heard = 0  # notices counted (by the session's thread)
        self._covered = 0  # notices counted before the last read started
        self._complete = True  # the last read came back short: nothing after head had committed
        self._marks: dict[str, int] = {}  # per runner: the position it has seen up to

    def notice(self) -> None:
        """An append committed (called by the session's thread before it wakes the runners)."""
        with self._lock:
            self._heard += 1

    def take(
        self,
        connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]],
        who: str,
        after: int,
        topics: Sequence[str],
        limit: int,
        decode: Callable[[Sequence[StoredRow]], list[Decoded]],
    ) -> Taken | None:
        """``who``'s next events after ``after`` among ``topics`` (all when empty), at most ``limit``, reading what
        is new first (on a connection from ``connect``) if a notice came since the last read; None when ``after``
        is before ``floor``. It takes that connection while holding the tail's lock: never call the tail while
        holding a connection of the same pool (two runners doing so would wait for each other)."""
        with self._lock:
            if self.floor is None:  # from the store's head: the runners' events before it are theirs to read
                heard = self._heard
                with connect() as conn:
                    self.floor = self._head = self._newest(conn)
                self._covered = heard
            if after < self.floor:
                self._marks[who] = after  # keep what it will need once it reached the floor by itself
                return None
            if self._heard != self._covered or not self._complete:
                with connect() as conn:
                    self._read(conn)
            start = bisect.bisect_right(self._ids, after)
            wanted = frozenset(topics)
            rows: list[StoredRow] = []
            for row in self._rows[start:]:
                if not wanted or row.topic in wanted:
                    rows.append(row)
                    if len(rows) == limit:
                        break
            full = len(rows) == limit
            seen = None if full or not self._complete else self._head
            self._marks[who] = rows[-1].id if full else self._head
            self._trim()
            return Taken(rows, self._decode(rows, decode), seen)

    def direct_floor(self) -> int | None:
        """What a runner reading the store itself has seen once its read comes back short (read before it reads)."""
        with self._lock:
            return self.floor

    def forget(self, who: str) -> None:
        """``who`` stopped asking (its runner stopped or lost its lease): it no longer holds events in memory."""
        with self._lock:
            self._marks.pop(who, None)

    def _newest(self, conn: psycopg.Connection[Any]) -> int:
        with conn.cursor(row_factory=tuple_row) as curs:
            row = curs.execute(sql.SQL(NEWEST_SQL).format(sql.Identifier(self.events_table))).fetchone()
        return int(row[0] or 0) if row is not None else 0

    def _read(self, conn: psycopg.Connection[Any]) -> None:
        heard = self._heard
        new = read_page(conn, self.events_table, self._head, (), self.read_limit)
        self._covered, self._complete = heard, len(new) < self.read_limit
        if new:
            self._rows.extend(new)
            self._ids.extend(row.id for row in new)
            self._head = new[-1].id

    def _decode(
        self, rows: list[StoredRow], decode: Callable[[Sequence[StoredRow]], list[Decoded]]
    ) -> list[Decoded] | None:
        missing = [row for row in rows if row.id not in self._decoded]
        if missing:
            try:
                self._decoded.update(zip((row.id for row in missing), decode(missing), strict=True))
            except Exception:  # the page decodes them itself, and stops or parks at the one it cannot decode
                return None
        return [self._decoded[row.id] for row in rows]

    def _trim(self) -> None:
        """Drop the events every runner has seen, and the oldest beyond ``cap``."""
        drop = bisect.bisect_right(self._ids, min(self._marks.values())) if self._marks else 0
        drop = max(drop, len(self._ids) - self.cap)
        if drop > 0:
            self.floor = max(self.floor or 0, self._ids[drop - 1])
            for row_id in self._ids[:drop]:
                self._decoded.pop(row_id, None)
            del self._rows[:drop], self._ids[:drop]
