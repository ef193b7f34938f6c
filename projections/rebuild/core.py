"""Rebuild projections into new tables beside the live ones, in one pass over the store; catch up, swap them in
atomically, drop the old.

Generic by table prefix: the live tables of a projection are those named ``<view.prefix>_*`` (its tracking table
aside). Each gets an empty copy ``rb_<table>`` (columns, defaults, checks, primary and unique keys); the projection
fills the copies from position 0 through a view subclass with the prefix ``rb_<prefix>`` and its own tracking table.

The pages: a projection with a fold holds its rows in memory from page to page and writes each table once, by COPY,
at the head (``Fold.hold``). With several CPUs, the workspaces are dealt into shares and each share's events are
read, decoded and folded by a process of its own (projections/rebuild/shares.py); the projections without a fold
are applied meanwhile by this process. With one, one reader goes through the events of the union of the
projections' topics in pages (``--batch``): each page is decoded once and handed to every projection whose topics
include its events, each into its own copies and build tracking row, all in one transaction per page with
asynchronous commit. At the head, the other indexes are built (UNLOGGED copies, those written page by page, made
LOGGED); a last catch-up; then one transaction, holding every projection's apply lock (so no live page of any of
them commits meanwhile), renames the live tables and indexes to ``old_*``, the copies to the live names, and sets
each live tracking row to its rebuilt position. Each live runner's next page sees the moved position and resumes
from it, on the new tables. The old tables are dropped after the commit. A rebuild that fails drops its copies (the
live tables are untouched); one that dies is started again from 0. Figures: docs/performance.md.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, cast

import psycopg
from eventsourcing.persistence import InfrastructureFactory, Notification, StoredEvent
from eventsourcing.utils import Environment
from psycopg import sql

from projections._common import TrackedView
from projections._paging import (
    Decoded,
    HeldPageFailed,
    PageApplier,
    ProjectionStopped,
    StoredRow,
    collector_paused,
    decode,
    describe,
    lock_key,
    read_page,
)
from projections._parking import TABLE as PARKED
from projections.rebuild import shares as rebuild_shares
from projections.rebuild.progress import Progress

log = logging.getLogger("chatassist.projections")
BUILD, OLD = "rb_", "old_"
MAX_IDENTIFIER = 63
SWAP_ATTEMPTS = 5
BATCH = 10_000  # events per page (one transaction for every projection of the pass)
FINISH_CONNECTIONS = 2  # the copies' indexes are built on this many connections at once
MAX_WORKERS = 4  # share processes of a rebuild at most (by default)
HOLD_ROWS = 1_000_000  # rows a projection's fold may hold in memory across pages (about 2-3 KB each)
COLLECT_EVERY = 20  # pages between collections of the youngest generation (the collector is paused meanwhile)


# The projections by name: (projection class, view class). The composition root fills it (chatassist/bootstrap.py
# registers its PROJECTIONS); a caller may pass a mapping of its own instead.
PROJECTIONS: dict[str, tuple[Any, Any]] = {}
# Run by every pass right after its swap, with the pass's container; each returns the rows it deleted. The composition
# root registers the retention purge (chatassist/rebuild.py): a rebuild restores from the events the rows a
# workspace's retention had purged, and purging them again in the pass itself gives a library ``rebuild()`` /
# ``rebuild_all()`` and ``chatassist projections rebuild`` the same rows (ADR 0058).
AFTER_SWAP: list[Callable[[Any], int]] = []
# The pool of a view opened for the rebuild only creates tables and answers reads: pages run on sessions of their own.
RUNNER_POOL = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2"}


class Container(Protocol):
    """What a rebuild needs of the process: the event-sourced application (its recorder, mapper and name) and the
    eventsourcing library's environment (chatassist.bootstrap.Container has both)."""

    app: Any
    es_env: dict[str, str]


class RebuildRefused(Exception):
    """The rebuild cannot start (unknown projection, no tables, another rebuild of it running)."""


@dataclass(frozen=True)
class Table:
    """A live table, its constraint indexes (built with the copy) and its other indexes (built at the head)."""

    name: str
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # (index, constraint, definition)
    indexes: list[tuple[str, str]] = field(default_factory=list)  # (index, CREATE INDEX statement)

    def index_names(self) -> list[str]:
        """Every index of the table (constraint indexes first)."""
        return [c[0] for c in self.constraints] + [i[0] for i in self.indexes]


@dataclass(frozen=True)
class RebuildResult:
    """What a rebuild did to one projection: its events applied, in ``seconds`` of the whole pass, of which
    ``apply_seconds`` applying its pages."""

    name: str
    events: int
    position: int | None
    seconds: float
    tables: list[str]
    apply_seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        """Events applied per second over the whole rebuild."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class PassResult:
    """What a pass did: ``events`` read (the union of the projections' topics), decoded once each."""

    results: list[RebuildResult]
    events: int
    position: int | None
    seconds: float
    decode_seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds of each step: copies, pages, finish, swap...
    processes: int = 1  # the processes that applied the pages (share processes, or this one)
    shares: list[rebuild_shares.ShareResult] = field(default_factory=list)  # each share process's figures
    purged: int = 0  # rows the AFTER_SWAP steps (the retention purge) deleted after the swap

    @property
    def events_per_s(self) -> float:
        """Events read per second over the whole pass."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def renamed(kind: str, name: str) -> str:
    """``kind`` + ``name``, shortened with a digest to PostgreSQL's identifier length."""
    full = kind + name
    if len(full) <= MAX_IDENTIFIER:
        return full
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{kind}{name[: MAX_IDENTIFIER - len(kind) - 9]}_{digest}"


def _q(name: str) -> sql.Identifier:
    return sql.Identifier(name)


def known(names: Sequence[str], projections: Mapping[str, Any] = PROJECTIONS) -> list[str]:
    """``names`` without repeats, or RebuildRefused naming the unknown ones and the known."""
    unknown = [n for n in dict.fromkeys(names) if n not in projections]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise RebuildRefused(
            f"unknown projection{'s' if len(unknown) > 1 else ''} {listed}; known: {', '.join(projections)}"
        )
    if not names:
        raise RebuildRefused(f"no projection named; known: {', '.join(projections)}")
    return list(dict.fromkeys(names))


class Rebuild:
    """One projection's part of a rebuild: its live tables, their copies, its build view and position.

    ``run()`` rebuilds it alone (a pass of one projection); ``RebuildPass`` rebuilds several in one pass.
    """

    def __init__(
        self,
        container: Container,
        name: str,
        *,
        batch: int = BATCH,
        stream: TextIO | None = None,
        fold: bool = True,
        projections: Mapping[str, tuple[Any, Any]] = PROJECTIONS,
        hold: int = HOLD_ROWS,
    ) -> None:
        known([name], projections)
        self.container, self.name, self.batch, self.stream, self.fold = container, name, batch, stream, fold
        self.hold = hold
        self.projections = projections
        self.projection_class, self.view_class = projections[name]
        self.prefix: str = getattr(self.view_class, "prefix", "")
        if not self.prefix:
            raise RebuildRefused(f"{name}: its view names no table prefix, so its tables cannot be found")
        self.live_view: Any = self._view(self.view_class, self.projection_class.name)
        self.topics = list(self.projection_class.topics)
        self.topic_set = frozenset(self.topics)
        self.tables: list[Table] = []
        self.build_view: Any = None
        self.applier: PageApplier | None = None
        self.position: int | None = None
        self.done, self.apply_s = 0, 0.0
        self.unlogged = True  # its copies are UNLOGGED until finished (create_copies)

    def run(self) -> RebuildResult:
        """Rebuild, catch up, swap, drop the old tables."""
        rebuild_pass = RebuildPass(
            self.container, [self], batch=self.batch, stream=self.stream, projections=self.projections
        )
        return rebuild_pass.run().results[0]

    def result(self, seconds: float) -> RebuildResult:
        """This part's figures, in a pass of ``seconds``."""
        return RebuildResult(
            self.name, self.done, self.position, seconds, [t.name for t in self.tables], round(self.apply_s, 3)
        )

    def close(self) -> None:
        """Close the views' pools."""
        for view in (self.live_view, self.build_view):
            if view is not None:
                view.datastore.close()

    # --- the tables ---------------------------------------------------------------------------------------------

    def tracking_name(self) -> str:
        """The projection's name as its tracking table spells it."""
        return str(self.projection_class.name).lower()

    def build_tracking(self) -> sql.Identifier:
        """The build view's tracking table."""
        return _q(f"{BUILD}{self.tracking_name()}_tracking")

    def find_tables(self, conn: psycopg.Connection[Any]) -> None:
        """The live tables, their constraints and indexes (RebuildRefused when there is none)."""
        pattern = self.prefix.replace("_", r"\_") + r"\_%"
        names = [
            r["relname"]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE %s"
                " AND c.relname <> %s ORDER BY c.relname",
                (pattern, self.live_view.tracking_table_name),
            )
        ]
        if not names:
            raise RebuildRefused(f"{self.name}: no tables named {self.prefix}_* (run `chatassist migrate`)")
        for name in names:
            if len(BUILD + name) > MAX_IDENTIFIER:
                raise RebuildRefused(f"{self.name}: table name {name} is too long to take the {BUILD} prefix")
        self.tables = [self._table(conn, name) for name in names]

    def _table(self, conn: psycopg.Connection[Any], name: str) -> Table:
        table = Table(name)
        rows = conn.execute(
            "SELECT i.relname AS index, pg_get_indexdef(x.indexrelid) AS def, con.conname,"
            " pg_get_constraintdef(con.oid) AS condef FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid"
            " AND con.contype IN ('p', 'u', 'x') WHERE x.indrelid = %s::regclass ORDER BY i.relname",
            (name,),
        ).fetchall()
        for r in rows:
            if r["conname"] is not None:
                table.constraints.append((r["index"], r["conname"], r["condef"]))
            else:
                table.indexes.append((r["index"], r["def"]))
        return table

    def create_copies(self, conn: psycopg.Connection[Any]) -> None:
        """Empty copies of the live tables with their keys, and the build view applying into them.

        A fold that holds its rows writes each row once, by COPY: its copies are logged tables from the start (their
        rows are written to the WAL as they are COPYed in, by the processes applying the pages). Rows written page by
        page are upserted again and again: those copies are UNLOGGED, and made LOGGED at the head (one rewrite)."""
        self.unlogged = not self.holds()
        for t in self.tables:
            copy = BUILD + t.name
            conn.execute(
                sql.SQL("CREATE {}TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                    sql.SQL("UNLOGGED " if self.unlogged else ""), _q(copy), _q(t.name)
                )
            )
            for index, constraint, definition in t.constraints:
                assert index == constraint, f"{t.name}: index {index} of constraint {constraint}"
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(_q(copy), _q(renamed(BUILD, constraint)))
                    + sql.SQL(definition)  # PostgreSQL's own text of the constraint
                )
        build_class = type(f"Rebuilt{self.view_class.__name__}", (self.view_class,), {"prefix": BUILD + self.prefix})
        self.build_view = self._view(build_class, BUILD + self.tracking_name())
        projection = self.projection_class(view=self.build_view)
        app = self.container.app
        self.applier = PageApplier(app.name, app.mapper, projection, self.build_view, fold=self.fold)
        self.position, self.done, self.apply_s = None, 0, 0.0
        if self.holds():
            assert self.applier.fold is not None
            self.applier.fold.hold(self.hold)

    def holds(self) -> bool:
        """Its fold holds its rows across pages (its projection has a fold, the rebuild uses it, and may hold)."""
        return self.fold and getattr(self.projection_class, "fold", None) is not None and self.hold > 0

    def record_build_position(self, conn: psycopg.Connection[Any], position: int) -> None:
        """Set the build tracking row to ``position`` (the shares applied every event up to it)."""
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (application_name, notification_id) VALUES (%s, %s)"
                " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id"
            ).format(self.build_tracking()),
            (self.container.app.name, position),
        )

    def apply_share(
        self,
        conn: psycopg.Connection[Any],
        curs: psycopg.Cursor[Any],
        page: Sequence[Notification | StoredRow],
        events: Sequence[Decoded],
        result: rebuild_shares.ShareResult,
    ) -> None:
        """Fold this projection's events of a share's page (in the share's transaction; no position recorded)."""
        page, events = self._mine(page, events)
        if not events:
            return
        assert self.applier is not None
        started = time.perf_counter()
        self.applier.fold_page(conn, curs, events)
        result.last[self.name] = events[-1][1].notification_id
        result.apply_s[self.name] = result.apply_s.get(self.name, 0.0) + time.perf_counter() - started
        result.done[self.name] = result.done.get(self.name, 0) + len(events)

    def release(self, conn: psycopg.Connection[Any]) -> None:
        """Write the rows the fold held across pages into the copies (one COPY per table)."""
        fold = self.applier.fold if self.applier is not None else None
        if fold is None or not fold.holding:
            return
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as curs:
            fold.release(curs)
        self.apply_s += time.perf_counter() - started

    def finish_copy(self, conn: psycopg.Connection[Any], t: Table) -> None:
        """Build the other indexes of ``t``'s copy (cheaper once the rows are in), make it crash-safe, refresh its
        statistics (on any connection: the copies are committed)."""
        for index, definition in t.indexes:
            head = re.match(r"CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ (USING .*)$", definition)
            assert head is not None, definition
            conn.execute(
                sql.SQL("CREATE {}INDEX {} ON {} ").format(
                    sql.SQL(head.group(1) or ""), _q(renamed(BUILD, index)), _q(BUILD + t.name)
                )
                + sql.SQL(head.group(3))  # PostgreSQL's own text of the index
            )
        if self.unlogged:
            conn.execute(sql.SQL("ALTER TABLE {} SET LOGGED").format(_q(BUILD + t.name)))
        conn.execute(sql.SQL("ANALYZE {}").format(_q(BUILD + t.name)))

    def drop(self, conn: psycopg.Connection[Any], kind: str) -> None:
        """Drop the ``kind`` (rb_ or old_) tables of this projection (and, for rb_, the build tracking table)."""
        for t in self.tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_q(kind + t.name)))
        if kind == BUILD:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self.build_tracking()))

    def swap(self, conn: psycopg.Connection[Any]) -> None:
        """In the caller's transaction (holding the apply lock): the copies take the live names, the live tracking
        row the rebuilt position."""
        live_tracking = sql.SQL("{}.{}").format(
            _q(self.live_view.datastore.schema), _q(self.live_view.tracking_table_name)
        )
        for t in self.tables:
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(_q(t.name), _q(OLD + t.name)))
            for index in t.index_names():
                conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(_q(index), _q(renamed(OLD, index))))
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(_q(BUILD + t.name), _q(t.name)))
            for index in t.index_names():
                conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(_q(renamed(BUILD, index)), _q(index)))
        app_name = self.container.app.name
        if self.position is not None:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (application_name, notification_id) VALUES (%s, %s)"
                    " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id"
                ).format(live_tracking),
                (app_name, self.position),
            )
        else:
            conn.execute(sql.SQL("DELETE FROM {} WHERE application_name = %s").format(live_tracking), (app_name,))
        # the rebuilt tables hold every event of every workspace (a rebuild parks nothing: an event it cannot apply
        # stops it before the swap), so no workspace stays parked for this view
        conn.execute(f"DELETE FROM {PARKED} WHERE projection = %s".encode(), (self.tracking_name(),))

    def _view(self, view_class: type[TrackedView], name: str) -> Any:
        """A view whose pool only creates its tracking table: pages go through the rebuild's own connection, so the
        pool is closed at once (a pass of five projections holds one connection, not ten more)."""
        env = Environment(name, {**self.container.es_env, **RUNNER_POOL})
        factory: InfrastructureFactory[TrackedView] = InfrastructureFactory.construct(env=env)
        view = factory.tracking_recorder(view_class)
        view.datastore.close()
        return view

    # --- applying -----------------------------------------------------------------------------------------------

    def _mine(
        self, page: Sequence[Notification | StoredRow], events: Sequence[Decoded]
    ) -> tuple[Sequence[Notification | StoredRow], Sequence[Decoded]]:
        """The notifications of ``page`` among this projection's topics, and their events."""
        if not self.topics:
            return page, events
        topics = self.topic_set
        mine = [i for i, n in enumerate(page) if n.topic in topics]
        if len(mine) == len(page):
            return page, events
        return [page[i] for i in mine], [events[i] for i in mine]

    def apply(
        self, conn: psycopg.Connection[Any], page: Sequence[Notification | StoredRow], events: Sequence[Decoded]
    ) -> None:
        """Apply this projection's events of a decoded page (in the pass's transaction of the page)."""
        page, events = self._mine(page, events)
        if not events:
            return
        assert self.applier is not None
        started = time.perf_counter()
        self.applier.apply(conn, page, self.position, events)
        self.apply_s += time.perf_counter() - started
        self.position, self.done = page[-1].id, self.done + len(page)


class RebuildPass:
    """A rebuild of several projections (``parts``: names, or Rebuild objects) in one pass over the store."""

    def __init__(
        self,
        container: Container,
        parts: Sequence[str | Rebuild],
        *,
        batch: int = BATCH,
        stream: TextIO | None = None,
        fold: bool = True,
        projections: Mapping[str, tuple[Any, Any]] = PROJECTIONS,
        hold: int = HOLD_ROWS,
        workers: int = 1,
    ) -> None:
        names = known([p if isinstance(p, str) else p.name for p in parts], projections)
        self.container, self.batch, self.stream, self.workers = container, batch, stream, workers
        given = {p.name: p for p in parts if isinstance(p, Rebuild)}
        self.parts: list[Rebuild] = []
        try:
            for name in names:
                part = given.get(name) or Rebuild(container, name, fold=fold, projections=projections, hold=hold)
                self.parts.append(part)
        except BaseException:
            self.close()
            raise
        every = [p.topics for p in self.parts]
        # one projection of every topic (none named) makes the pass read every event
        self.topics = [] if not all(every) else list(dict.fromkeys(t for topics in every for t in topics))
        if len(self.parts) == 1:
            self.label = f"rebuild {self.parts[0].name}"
        elif set(names) == set(projections):
            self.label = "rebuild all"
        else:
            self.label = f"rebuild {', '.join(names)}"
        self.events_table: str = container.app.recorder.events_table_name
        self.position: int | None = None
        self.done, self.decode_s, self.processes = 0, 0.0, 1
        self.share_results: list[rebuild_shares.ShareResult] = []
        self.phases: dict[str, float] = {}

    def close(self) -> None:
        """Close every part's views."""
        for part in self.parts:
            part.close()

    def run(self) -> PassResult:
        """Rebuild every part, catch up, swap all in one transaction, drop the old tables."""
        try:
            return self._run()
        finally:
            self.close()

    def _connect(self) -> psycopg.Connection[Any]:
        kwargs = self.parts[0].live_view.datastore.pool.kwargs
        return psycopg.connect(**kwargs, autocommit=True, application_name="chatassist rebuild")

    def _run(self) -> PassResult:
        started = time.monotonic()
        with self._connect() as conn:
            for part in self.parts:
                key = lock_key("rebuild", part.live_view)
                held = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held", (key,)).fetchone()
                if not (held and held["held"]):
                    raise RebuildRefused(f"{part.name}: another rebuild of it is running")
            for part in self.parts:
                part.find_tables(conn)
            for part in self.parts:  # what a rebuild that died left behind
                part.drop(conn, BUILD)
                part.drop(conn, OLD)
            try:
                progress = self._attempts(conn)
            except BaseException:
                self._drop_copies(conn)  # the live tables are untouched: the swap is all or nothing
                raise
            for part in self.parts:
                part.drop(conn, BUILD)  # the build tracking tables
                part.drop(conn, OLD)
        purged = 0
        with self._phase("purge"):
            for step in AFTER_SWAP:
                purged += step(self.container)
        seconds = time.monotonic() - started
        result = PassResult(
            [p.result(seconds) for p in self.parts],
            self.done,
            self.position,
            seconds,
            round(self.decode_s, 3),
            {k: round(v, 3) for k, v in self.phases.items()},
            self.processes,
            self.share_results,
            purged,
        )
        progress.finish("\n".join(self._summary(result)))
        return result

    def _attempts(self, conn: psycopg.Connection[Any]) -> Progress:
        """Build and swap; a share that failed starts the pass over in one process, and a page of held rows that
        failed starts it over page by page, where a failing page is applied event by event and the event that fails
        is named (the rows held in memory cannot be rolled back to before the page)."""
        while True:
            try:
                return self._build_and_swap(conn)
            except rebuild_shares.SharesFailed as err:
                log.warning("%s: %s; starting over in one process", self.label, err)
                self.workers = 1
            except HeldPageFailed as err:
                log.warning("%s: %s; starting over without holding rows", self.label, err)
                self.workers = 1
                for part in self.parts:
                    part.hold = 0
            self._drop_copies(conn)
            self.position, self.done, self.decode_s, self.phases, self.processes = None, 0, 0.0, {}, 1
            self.share_results = []

    def _summary(self, result: PassResult) -> list[str]:
        lines = [
            f"rebuild {r.name}: {r.events:,} events in {r.seconds:.1f} s ({r.events_per_s:,.0f} events/s;"
            f" {r.apply_seconds:.1f} s applying), swapped at position {r.position}; tables {', '.join(r.tables)}"
            for r in result.results
        ]
        if len(result.results) > 1:
            how = (
                f"applied by {result.processes} processes, each a share of the workspaces,"
                if result.processes > 1
                else "read and decoded once"
            )
            lines.append(
                f"{self.label}: {result.events:,} events {how} in {result.seconds:.1f} s"
                f" ({result.events_per_s:,.0f} events/s; {result.decode_seconds:.1f} s decoding),"
                f" {len(result.results)} projections swapped in one transaction"
            )
        if AFTER_SWAP:  # before the figures, which end the output
            lines.insert(0, f"retention: {result.purged:,} rows older than their workspace's retention purged again")
        return lines

    def _plan(self) -> dict[Any, int]:
        with self._connect() as conn:
            return rebuild_shares.plan(conn, self.events_table, self, self.workers)

    def _drop_copies(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken:  # the connection died: drop them on a new one
            with self._connect() as fresh:
                self._drop_copies(fresh)
            return
        for part in self.parts:
            part.drop(conn, BUILD)

    def _build_and_swap(self, conn: psycopg.Connection[Any]) -> Progress:
        total, head = self._count(conn)
        with ThreadPoolExecutor(1, thread_name_prefix="rebuild-plan") as pool:
            # the shares are planned on a connection of their own while the copies are created; its snapshot is
            # taken after the head was, so every conversation started up to the head is in the plan
            planned = pool.submit(self._plan) if self.workers > 1 and any(p.holds() for p in self.parts) else None
            with self._phase("copies"):
                for part in self.parts:
                    part.create_copies(conn)
                conn.execute("SET synchronous_commit = off")  # the copies are thrown away if this process dies
            with self._phase("plan_shares"):
                share_of = planned.result() if planned is not None and head is not None else {}
        progress = Progress(self.label, total, head or 0, self.stream)
        with self._phase("pages"):
            if share_of:
                assert head is not None
                rebuild_shares.run(self, conn, progress, share_of, self.workers, head)
                self.done, self.processes = max(self.done, total), self.workers
            else:
                self._apply_to_head(conn, progress)
        with self._phase("write_held"), collector_paused():
            for part in self.parts:
                part.release(conn)
        with self._phase("indexes"):
            self._finish_copies(conn)
        with self._phase("catch_up"):
            self._apply_to_head(conn, progress)
        with self._phase("swap"):
            self._swap(conn, progress)
        return progress

    def _finish_copies(self, conn: psycopg.Connection[Any]) -> None:
        """Every copy's indexes, SET LOGGED (of the UNLOGGED ones) and ANALYZE, the tables side by side on
        FINISH_CONNECTIONS connections (PostgreSQL does the work: one server process per connection), the largest
        tables first."""
        sizes = {
            r["relname"]: r["size"]
            for r in conn.execute(
                "SELECT relname, pg_table_size(oid) AS size FROM pg_class WHERE relname = ANY(%s)",
                ([BUILD + t.name for part in self.parts for t in part.tables],),
            )
        }
        jobs = sorted(
            ((part, t) for part in self.parts for t in part.tables), key=lambda job: -sizes.get(BUILD + job[1].name, 0)
        )

        def finish(job: tuple[Rebuild, Table]) -> None:
            with self._connect() as own:
                job[0].finish_copy(own, job[1])

        with ThreadPoolExecutor(FINISH_CONNECTIONS, thread_name_prefix="rebuild-finish") as pool:
            for done in pool.map(finish, jobs):
                assert done is None

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - started

    def _count(self, conn: psycopg.Connection[Any]) -> tuple[int, int | None]:
        """The number of events to read and the newest one's position."""
        query = sql.SQL("SELECT count(*) AS n, max(notification_id) AS head FROM {}").format(_q(self.events_table))
        row = conn.execute(
            query + sql.SQL(" WHERE topic = ANY(%s)") if self.topics else query, [self.topics]
        ).fetchone()
        assert row is not None
        return int(row["n"]), row["head"]

    def _apply_to_head(self, conn: psycopg.Connection[Any], progress: Progress) -> None:
        """Apply pages until a page comes back short (the head as of that read)."""
        with collector_paused():
            for n, (page, events) in enumerate(self._pages(conn, self.topics, self.position), 1):
                with conn.transaction():
                    for part in self.parts:
                        part.apply(conn, page, events)
                self.position, self.done = page[-1].id, self.done + len(page)
                progress.head = max(progress.head, self.position)
                progress.total = max(progress.total, self.done)
                progress.update(self.position, self.done)
                del page, events
                if n % COLLECT_EVERY == 0:
                    gc.collect(0)  # the pages' own cycles, if any (the rows held survive into an older generation)

    def apply_to(self, conn: psycopg.Connection[Any], parts: Sequence[Rebuild], until: int) -> None:
        """Apply the events up to position ``until`` to ``parts`` alone, from the start (the parts that have no fold,
        while the shares apply the others)."""
        every = [p.topics for p in parts]
        topics = [] if not all(every) else list(dict.fromkeys(t for topics in every for t in topics))
        with collector_paused():
            for page, events in self._pages(conn, topics, None, until):
                with conn.transaction():
                    for part in parts:
                        part.apply(conn, page, events)

    def _pages(
        self, conn: psycopg.Connection[Any], topics: Sequence[str], after: int | None, until: int | None = None
    ) -> Iterator[tuple[list[StoredRow], list[Decoded]]]:
        """The pages of ``topics`` after ``after`` up to the head (or ``until``), each with its events decoded
        once."""
        while True:
            page = read_page(conn, self.events_table, after, topics, self.batch, until=until)
            if page:
                yield page, self._decode(page)
                after = page[-1].id
            if len(page) < self.batch:
                return

    def _decode(self, page: list[StoredRow]) -> list[Decoded]:
        app = self.container.app
        started = time.perf_counter()
        try:
            return decode(app.name, app.mapper, page)
        except Exception:
            for n in page:  # find the event, to name it
                try:
                    app.mapper.to_domain_event(cast("StoredEvent", n))  # a StoredRow has the fields it reads
                except Exception as err:
                    raise ProjectionStopped(f"{self.label}: cannot decode {describe(n)}: {err!r}") from err
            raise
        finally:
            self.decode_s += time.perf_counter() - started

    def _swap(self, conn: psycopg.Connection[Any], progress: Progress) -> None:
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                self._swap_once(conn)
                return
            except psycopg.errors.LockNotAvailable:
                log.warning("%s: the swap waited too long for readers (attempt %d); retrying", self.label, attempt)
                self._apply_to_head(conn, progress)
        raise RebuildRefused(f"{self.label}: could not take the tables' locks to swap them; the live tables are kept")

    def _swap_once(self, conn: psycopg.Connection[Any]) -> None:
        """One transaction: every projection's apply lock (in one order, as no runner takes two), then its tables."""
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = on")
            conn.execute("SET LOCAL lock_timeout = '5s'")
            for key in sorted(lock_key("apply", part.live_view) for part in self.parts):
                conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            for part in self.parts:
                part.swap(conn)


def rebuild(
    container: Container,
    name: str,
    *,
    batch: int = BATCH,
    stream: TextIO | None = None,
    fold: bool = True,
    hold: int = HOLD_ROWS,
    workers: int | None = None,
) -> RebuildResult:
    """Rebuild projection ``name`` into new tables and swap them in (see the module's docstring).

    ``fold=False`` applies every event through the projection's SQL handlers even if it has a fold (tests);
    ``hold``: the rows its fold may hold in memory across pages (0: written page by page); ``workers``: as
    ``rebuild_all``'s.
    """
    workers = default_workers() if workers is None else workers
    rebuild_pass = RebuildPass(container, [name], batch=batch, stream=stream, fold=fold, hold=hold, workers=workers)
    return rebuild_pass.run().results[0]


def rebuild_all(
    container: Container,
    names: Sequence[str] | None = None,
    *,
    batch: int = BATCH,
    stream: TextIO | None = None,
    fold: bool = True,
    projections: Mapping[str, tuple[Any, Any]] = PROJECTIONS,
    hold: int = HOLD_ROWS,
    workers: int | None = None,
) -> PassResult:
    """Rebuild the named projections (default: all) in one pass over the store and swap them in together;
    ``hold``: the rows each projection's fold may hold in memory across pages (0: none); ``workers``: processes
    applying shares of the workspaces at once (default: one per CPU, at most MAX_WORKERS; 1: this process alone)."""
    parts = list(names) if names is not None else list(projections)
    workers = default_workers() if workers is None else workers
    return RebuildPass(
        container, parts, batch=batch, stream=stream, fold=fold, projections=projections, hold=hold, workers=workers
    ).run()


def default_workers() -> int:
    """One share process per CPU this process may use, at most MAX_WORKERS (1 where fork is not available)."""
    if not hasattr(os, "fork"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, cpus))
