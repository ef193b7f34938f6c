"""Rebuild one projection into new tables beside the live ones, catch up, swap them in atomically, drop the old.

Generic by table prefix: the live tables of a projection are those named ``<view.prefix>_*`` (its tracking table
aside). Each gets an empty UNLOGGED copy ``rb_<table>`` (columns, defaults, checks, primary and unique keys); the
projection fills the copies from position 0 through a view subclass with the prefix ``rb_<prefix>`` and its own
tracking table, in pages (``--batch``) with asynchronous commit. At the head, the other indexes are built and the
copies made LOGGED; a last catch-up; then one transaction, holding the projection's apply lock (so no live page
commits meanwhile), renames the live tables and indexes to ``old_*``, the copies to the live names, and sets the
live tracking row to the rebuilt position. The live runner's next page sees the moved position and resumes from
it, on the new tables. The old tables are dropped after the commit. A rebuild that dies is started again from 0.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg import sql

from chatassist.bootstrap import PROJECTIONS, Container
from chatassist.progress import Progress
from chatassist.projection_runner import RUNNER_POOL
from projections._paging import PageApplier, lock_key, read_page

log = logging.getLogger("chatassist.projections")
BUILD, OLD = "rb_", "old_"
MAX_IDENTIFIER = 63
SWAP_ATTEMPTS = 5


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
    """What a rebuild did."""

    name: str
    events: int
    position: int | None
    seconds: float
    tables: list[str]

    @property
    def events_per_s(self) -> float:
        """Events applied per second over the whole rebuild."""
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


class Rebuild:
    """One rebuild of projection ``name`` (a key of PROJECTIONS)."""

    def __init__(
        self, container: Container, name: str, *, batch: int = 5000, stream: TextIO | None = None, fold: bool = True
    ) -> None:
        if name not in PROJECTIONS:
            raise RebuildRefused(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
        self.container, self.name, self.batch, self.stream, self.fold = container, name, batch, stream, fold
        self.projection_class, self.view_class = PROJECTIONS[name]
        self.prefix: str = getattr(self.view_class, "prefix", "")
        if not self.prefix:
            raise RebuildRefused(f"{name}: its view names no table prefix, so its tables cannot be found")
        self.live_view: Any = self._view(self.view_class, self.projection_class.name)
        self.topics = list(self.projection_class.topics)

    def run(self) -> RebuildResult:
        """Rebuild, catch up, swap, drop the old tables."""
        try:
            return self._run()
        finally:
            self.live_view.datastore.close()

    def _run(self) -> RebuildResult:
        started = time.monotonic()
        with psycopg.connect(**self.live_view.datastore.pool.kwargs, autocommit=True) as conn:
            held = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held", (lock_key("rebuild", self.live_view),)
            ).fetchone()
            if not (held and held["held"]):
                raise RebuildRefused(f"{self.name}: another rebuild of it is running")
            tables = self._live_tables(conn)
            build_tracking = _q(f"{BUILD}{self.tracking_name()}_tracking")
            self._drop(conn, tables, BUILD)
            self._drop(conn, tables, OLD)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(build_tracking))
            try:
                position, done, progress = self._build_and_swap(conn, tables)
            except BaseException:
                self._drop(conn, tables, BUILD)  # the live tables are untouched: the swap is all or nothing
                raise
            finally:
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(build_tracking))
            self._drop(conn, tables, OLD)
        seconds = time.monotonic() - started
        result = RebuildResult(self.name, done, position, seconds, [t.name for t in tables])
        progress.finish(
            f"rebuild {self.name}: {done:,} events in {seconds:.1f} s ({result.events_per_s:,.0f} events/s),"
            f" swapped at position {position}; tables {', '.join(result.tables)}"
        )
        return result

    def _build_and_swap(self, conn: psycopg.Connection[Any], tables: list[Table]) -> tuple[int | None, int, Progress]:
        self._create_copies(conn, tables)
        build_view = self._build_view()
        try:
            projection = self.projection_class(view=build_view)
            app = self.container.app
            applier = PageApplier(app.name, app.mapper, projection, build_view, fold=self.fold)
            conn.execute("SET synchronous_commit = off")  # the copies are thrown away if this process dies
            total, head = self._count(conn)
            progress = Progress(f"rebuild {self.name}", total, head or 0, self.stream)
            position, done = self._apply_to_head(conn, applier, None, 0, progress)
            self._finish_copies(conn, tables)
            position, done = self._apply_to_head(conn, applier, position, done, progress)
            position, done = self._swap(conn, tables, applier, position, done, progress)
            return position, done, progress
        finally:
            build_view.datastore.close()

    # --- the tables ---------------------------------------------------------------------------------------------

    def tracking_name(self) -> str:
        """The projection's name as its tracking table spells it."""
        return str(self.projection_class.name).lower()

    def _live_tables(self, conn: psycopg.Connection[Any]) -> list[Table]:
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
        return [self._table(conn, name) for name in names]

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

    def _create_copies(self, conn: psycopg.Connection[Any], tables: list[Table]) -> None:
        for t in tables:
            copy = BUILD + t.name
            conn.execute(
                sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                    _q(copy), _q(t.name)
                )
            )
            for index, constraint, definition in t.constraints:
                assert index == constraint, f"{t.name}: index {index} of constraint {constraint}"
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(_q(copy), _q(renamed(BUILD, constraint)))
                    + sql.SQL(definition)  # type: ignore[arg-type]  # PostgreSQL's own text of the constraint
                )

    def _finish_copies(self, conn: psycopg.Connection[Any], tables: list[Table]) -> None:
        """Build the other indexes (cheaper once the rows are in), make the copies crash-safe, refresh statistics."""
        for t in tables:
            for index, definition in t.indexes:
                head = re.match(r"CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ (USING .*)$", definition)
                assert head is not None, definition
                conn.execute(
                    sql.SQL("CREATE {}INDEX {} ON {} ").format(
                        sql.SQL(head.group(1) or ""), _q(renamed(BUILD, index)), _q(BUILD + t.name)
                    )
                    + sql.SQL(head.group(3))  # type: ignore[arg-type]  # PostgreSQL's own text of the index
                )
            conn.execute(sql.SQL("ALTER TABLE {} SET LOGGED").format(_q(BUILD + t.name)))
            conn.execute(sql.SQL("ANALYZE {}").format(_q(BUILD + t.name)))

    def _drop(self, conn: psycopg.Connection[Any], tables: list[Table], kind: str) -> None:
        for t in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_q(kind + t.name)))

    def _build_view(self) -> Any:
        build_class = type(f"Rebuilt{self.view_class.__name__}", (self.view_class,), {"prefix": BUILD + self.prefix})
        return self._view(build_class, BUILD + self.tracking_name())

    def _view(self, view_class: type[Any], name: str) -> Any:
        """A view of its own small pool (pages go through the rebuild's connection; the pool creates tables)."""
        env = Environment(name, {**self.container.es_env, **RUNNER_POOL})
        return InfrastructureFactory.construct(env=env).tracking_recorder(view_class)

    # --- applying -----------------------------------------------------------------------------------------------

    def _count(self, conn: psycopg.Connection[Any]) -> tuple[int, int | None]:
        """The number of events to apply and the newest one's position."""
        query = sql.SQL("SELECT count(*) AS n, max(notification_id) AS head FROM {}").format(
            _q(self.container.app.recorder.events_table_name)
        )
        row = conn.execute(
            query + sql.SQL(" WHERE topic = ANY(%s)") if self.topics else query, [self.topics]
        ).fetchone()
        assert row is not None
        return int(row["n"]), row["head"]

    def _apply_to_head(
        self, conn: psycopg.Connection[Any], applier: PageApplier, position: int | None, done: int, progress: Progress
    ) -> tuple[int | None, int]:
        """Apply pages until a page comes back short (the head as of that read)."""
        events_table = self.container.app.recorder.events_table_name
        while True:
            page = read_page(conn, events_table, position, self.topics, self.batch)
            if page:
                applier.apply(conn, page, position)
                position, done = page[-1].id, done + len(page)
                progress.head = max(progress.head, position)
                progress.total = max(progress.total, done)
                progress.update(position, done)
            if len(page) < self.batch:
                return position, done

    def _swap(
        self,
        conn: psycopg.Connection[Any],
        tables: list[Table],
        applier: PageApplier,
        position: int | None,
        done: int,
        progress: Progress,
    ) -> tuple[int | None, int]:
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            try:
                self._swap_once(conn, tables, position)
                return position, done
            except psycopg.errors.LockNotAvailable:
                log.warning("%s: the swap waited too long for readers (attempt %d); retrying", self.name, attempt)
                position, done = self._apply_to_head(conn, applier, position, done, progress)
        raise RebuildRefused(f"{self.name}: could not take the tables' locks to swap them; the live tables are kept")

    def _swap_once(self, conn: psycopg.Connection[Any], tables: list[Table], position: int | None) -> None:
        live_tracking = sql.SQL("{}.{}").format(
            _q(self.live_view.datastore.schema), _q(self.live_view.tracking_table_name)
        )
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = on")
            conn.execute("SET LOCAL lock_timeout = '5s'")
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock_key("apply", self.live_view),))
            for t in tables:
                conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(_q(t.name), _q(OLD + t.name)))
                for index in t.index_names():
                    conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(_q(index), _q(renamed(OLD, index))))
                conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(_q(BUILD + t.name), _q(t.name)))
                for index in t.index_names():
                    conn.execute(sql.SQL("ALTER INDEX {} RENAME TO {}").format(_q(renamed(BUILD, index)), _q(index)))
            if position is not None:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (application_name, notification_id) VALUES (%s, %s)"
                        " ON CONFLICT (application_name) DO UPDATE SET notification_id = EXCLUDED.notification_id"
                    ).format(live_tracking),
                    (self.container.app.name, position),
                )
            else:
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE application_name = %s").format(live_tracking),
                    (self.container.app.name,),
                )


def rebuild(
    container: Container, name: str, *, batch: int = 5000, stream: TextIO | None = None, fold: bool = True
) -> RebuildResult:
    """Rebuild projection ``name`` into new tables and swap them in (see the module's docstring).

    ``fold=False`` applies every event through the projection's SQL handlers even if it has a fold (tests).
    """
    return Rebuild(container, name, batch=batch, stream=stream, fold=fold).run()
