"""Fold a page of events into the rows it touches, in memory, and write each changed row back once.

A projection's SQL handlers (one statement per event) stay the definition of the view. A fold is the same logic
in Python for the events that dominate the store: the page loads the rows its events touch (one query per table),
applies the events in order to those rows, then writes them back with one COPY and one upsert per table. An event
the fold has no handler for is applied by the projection's SQL handler, in order, after the fold's rows so far
are written back. The rebuild-equals-incremental tests compare both paths row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import Tracking
from psycopg import sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from projections._common import TrackedView

EXACT = Context(prec=60)
EIGHT_PLACES = Decimal("1E-8")


def numeric8(value: Decimal | int) -> Decimal:
    """``value`` as a numeric(20, 8) column stores it (rounded half away from zero, as PostgreSQL does)."""
    return Decimal(value).quantize(EIGHT_PLACES, rounding=ROUND_HALF_UP, context=EXACT)


def add8(stored: Decimal, value: Decimal | int) -> Decimal:
    """``stored + value`` into a numeric(20, 8) column (the sum is exact before the rounding)."""
    return numeric8(EXACT.add(stored, Decimal(value)))


class Rows:
    """The rows of one table that a page touches, by primary key, held in memory until ``flush``."""

    def __init__(
        self,
        table: str,
        key: tuple[str, ...],
        key_types: tuple[str, ...],
        columns: Sequence[str],
        unique: dict[str, str] | None = None,
    ) -> None:
        """``columns``: those written back (a generated column left out); ``unique``: other unique columns (name:
        type) a handler finds rows by (``want_by``, ``find``)."""
        self.table, self.key, self.key_types, self.columns = table, key, key_types, list(columns)
        self.rows: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        self.wanted: set[tuple[Any, ...]] = set()
        self.wanted_by: dict[str, set[Any]] = {column: set() for column in unique or {}}
        self.unique_types = dict(unique or {})
        self.dirty: set[tuple[Any, ...]] = set()

    def want(self, key: tuple[Any, ...]) -> None:
        """Load this row with the next ``load``."""
        if key not in self.rows:
            self.wanted.add(key)

    def want_by(self, column: str, value: Any) -> None:
        """Load the row whose unique ``column`` is ``value`` (if there is one) with the next ``load``."""
        self.wanted_by[column].add(value)

    def find(self, column: str, value: Any) -> tuple[Any, ...] | None:
        """The key of the row held whose ``column`` is ``value`` (loaded by ``want_by`` or inserted), or None."""
        for key, row in self.rows.items():
            if row is not None and row[column] == value:
                return key
        return None

    def load(self, curs: psycopg.Cursor[DictRow]) -> None:
        """Read every wanted row in one query per key (a missing one is remembered as missing)."""
        for column, values in self.wanted_by.items():
            if values:
                query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s::{}[])").format(
                    sql.Identifier(self.table), sql.Identifier(column), sql.SQL(self.unique_types[column])
                )
                for row in curs.execute(query, [list(values)]):
                    self.rows.setdefault(tuple(row[k] for k in self.key), row)  # a row held is newer
                values.clear()
        if not self.wanted:
            return
        keys = list(self.wanted)
        names = [sql.Identifier(k) for k in self.key]
        arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(t)) for t in self.key_types)
        query = sql.SQL("SELECT t.* FROM {} t JOIN unnest({}) AS k({}) USING ({})").format(
            sql.Identifier(self.table), arrays, sql.SQL(", ").join(names), sql.SQL(", ").join(names)
        )
        for row in curs.execute(query, [[k[i] for k in keys] for i in range(len(self.key))]):
            self.rows[tuple(row[k] for k in self.key)] = row
        for key in keys:
            self.rows.setdefault(key, None)
        self.wanted.clear()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        """The row, to change in place (then ``touched``), or None when there is none (an UPDATE changes nothing)."""
        return self.rows[key]

    def touched(self, key: tuple[Any, ...]) -> None:
        """Mark the row as changed."""
        self.dirty.add(key)

    def insert(self, key: tuple[Any, ...], row: dict[str, Any]) -> None:
        """A new row (an INSERT: refused like the SQL one when the key exists)."""
        if self.rows.get(key) is not None:
            raise psycopg.errors.UniqueViolation(f"{self.table}: a row with key {key} already exists")
        self.rows[key] = row
        self.dirty.add(key)

    def flush(self, curs: psycopg.Cursor[DictRow]) -> None:
        """Write every changed row back: COPY into a temporary table, then one upsert."""
        if not self.dirty:
            return
        stage = sql.Identifier(f"stage_{self.table}"[:63])
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        curs.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS").format(
                stage, sql.Identifier(self.table)
            )
        )
        with curs.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage, cols)) as copy:
            for key in self.dirty:
                row = self.rows[key]
                assert row is not None
                copy.write_row([_adapt(row[c]) for c in self.columns])
        updates = sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
            for c in self.columns
            if c not in self.key
        )
        curs.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO UPDATE SET {}").format(
                sql.Identifier(self.table),
                cols,
                cols,
                stage,
                sql.SQL(", ").join(sql.Identifier(k) for k in self.key),
                updates,
            )
        )
        curs.execute(sql.SQL("TRUNCATE {}").format(stage))
        self.dirty.clear()


class Appends:
    """Rows only ever inserted (messages, log lines): COPYed in at ``flush``."""

    def __init__(self, table: str, columns: Sequence[str]) -> None:
        self.table, self.columns = table, list(columns)
        self.pending: list[list[Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        """Insert ``row`` at the next flush."""
        self.pending.append([_adapt(row.get(c)) for c in self.columns])

    def flush(self, curs: psycopg.Cursor[DictRow]) -> None:
        """COPY the pending rows in."""
        if not self.pending:
            return
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in self.columns)
        with curs.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(self.table), cols)) as copy:
            for values in self.pending:
                copy.write_row(values)
        self.pending.clear()


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


Handler = Callable[[Any, Any, Tracking], None]


class Fold:
    """Base of a projection's fold: subclasses register ``handlers`` by event class and say which rows they need."""

    handlers: ClassVar[dict[type, Handler]] = {}

    def __init__(self, view: TrackedView) -> None:
        self.view = view
        self.tables: list[Rows | Appends] = []

    def reset(self) -> None:
        """Forget everything held (a page starts, or the last one rolled back)."""
        self._forget()
        for table in self.tables:
            if isinstance(table, Rows):
                table.wanted.clear()
                table.dirty.clear()
                for values in table.wanted_by.values():
                    values.clear()
            else:
                table.pending.clear()

    def keys(self, event: Any) -> Iterable[tuple[Rows, tuple[Any, ...]]]:
        """The keyed rows ``event``'s handler reads or writes."""
        return ()

    def apply(
        self,
        curs: psycopg.Cursor[DictRow],
        events: Sequence[tuple[Any, Tracking]],
        fallback: Callable[[Sequence[tuple[Any, Tracking]]], None],
    ) -> None:
        """Apply ``events`` in order: runs of events with a handler folded, the others through ``fallback``."""
        start = 0
        while start < len(events):
            folded = type(events[start][0]) in self.handlers
            end = start
            while end < len(events) and (type(events[end][0]) in self.handlers) == folded:
                end += 1
            run = events[start:end]
            if folded:
                self._fold(curs, run)
            else:
                fallback(run)
                self._forget()  # the SQL handlers may have changed rows held here
            start = end

    def _fold(self, curs: psycopg.Cursor[DictRow], events: Sequence[tuple[Any, Tracking]]) -> None:
        for event, _ in events:
            for rows, key in self.keys(event):
                rows.want(key)
        for table in self.tables:
            if isinstance(table, Rows):
                table.load(curs)
        for event, tracking in events:
            self.handlers[type(event)](self, event, tracking)
        for table in self.tables:
            table.flush(curs)

    def _forget(self) -> None:
        for table in self.tables:
            if isinstance(table, Rows):
                table.rows.clear()
