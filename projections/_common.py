"""A view base: write rows and the tracking position in one PostgreSQL transaction (exactly once).

A view applies an event either on its own (one transaction per event, ``apply`` outside a page) or inside a page
(``page``): many events' statements in one transaction on the caller's connection, the caller recording the
tracking position of the page's last event before it commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import sql as pgsql
from psycopg.rows import DictRow

from projections import _live

Statement = tuple[str, dict[str, Any]]
TRACKING_DDL_LOCK = 7_305_112_733_017  # pg_advisory_xact_lock key of the tracking tables' DDL (a constant of ours)


class TrackedView(PostgresTrackingRecorder):
    """A view whose writes commit with its tracking row; a replayed event is rejected, not applied twice.

    ``prefix`` starts the name of every table the view writes (``<prefix>_<name>``, see ``table``): a rebuild fills
    a fresh set of tables by giving a subclass another prefix, then swaps them in.
    """

    prefix: ClassVar[str] = ""
    live: _live.LivePublisher | None = None  # set by projections._live.LiveFactory when live notices are on

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._page = threading.local()
        # The library's single-row tracking upsert, which refuses a position that does not move forward by reading
        # back its RETURNING row (a round trip of its own); this one refuses it on the server (a failed cast naming
        # both positions), so it can be sent in one pipeline with the COMMIT.
        self.forward_tracking_statement = pgsql.SQL(
            "INSERT INTO {0}.{1} AS t VALUES (%(application_name)s, %(notification_id)s) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = CASE "
            "WHEN t.notification_id < excluded.notification_id THEN excluded.notification_id "
            "ELSE ('tracking position ' || t.notification_id || ' is not before ' || excluded.notification_id)::bigint "
            "END"
        ).format(pgsql.Identifier(self.datastore.schema), pgsql.Identifier(self.tracking_table_name))

    def _create_table(self, curs: psycopg.Cursor[DictRow]) -> None:
        """The library's tracking-table DDL under an advisory lock, taking a table that another process created
        meanwhile as found: replicas starting at once on a new database otherwise fail, on the table's row type
        (``CREATE TABLE IF NOT EXISTS`` races) or on the ``__migration__`` row the first one already wrote."""
        curs.execute("SELECT pg_advisory_xact_lock(%s)", (TRACKING_DDL_LOCK,))
        if not self.tracking_table_exists:
            row = curs.execute(
                "SELECT to_regclass(quote_ident(%s) || '.' || quote_ident(%s)) IS NOT NULL AS found",
                (self.datastore.schema, self.tracking_table_name),
            ).fetchone()
            if row is not None and row["found"]:
                self.tracking_table_exists = True
                migrated = self._max_tracking_id(self.table_migration_identifier, curs)
                self.tracking_migration_previous = self.tracking_migration_current = migrated
        super()._create_table(curs)

    def table(self, name: str) -> str:
        """The full name of one of this view's tables."""
        return f"{self.prefix}_{name}"

    def apply(self, tracking: Tracking, statements: Sequence[Statement]) -> None:
        """Run ``statements`` and record ``tracking`` atomically (inside a page: add them to the page)."""
        curs = self.page_cursor()
        if curs is not None:
            for sql, params in statements:
                curs.execute(sql.encode(), params, prepare=True)
            return
        with self.datastore.transaction(commit=True) as curs:
            for sql, params in statements:
                curs.execute(sql.encode(), params, prepare=True)
            self._insert_tracking(curs, tracking)

    def query(self, sql: str, params: dict[str, Any] | Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query as dicts, in one round trip (inside a page: seeing the page's writes)."""
        curs = self.page_cursor()
        if curs is not None:
            return list(curs.execute(sql.encode(), params, prepare=True).fetchall())
        with self.datastore.get_connection() as conn:
            return list(conn.execute(sql.encode(), params, prepare=True).fetchall())

    def page_cursor(self) -> psycopg.Cursor[DictRow] | None:
        """The cursor of the page this thread has open on this view, if any."""
        return getattr(self._page, "cursor", None)

    @contextmanager
    def page(self, curs: psycopg.Cursor[DictRow]) -> Iterator[None]:
        """Within the block, ``apply`` and ``query`` in this thread use ``curs`` (a transaction the caller owns)."""
        self._page.cursor = curs
        try:
            yield
        finally:
            self._page.cursor = None

    def live_workspaces_sql(self) -> str | None:
        """A query of the ``workspace_id`` of the rows whose aggregates are ``%(ids)s`` (for live notices); None: this
        view publishes none."""
        return None

    def committed(self, events: Sequence[tuple[Any, Tracking]]) -> None:
        """Called after a page of ``events`` committed (its rows are visible): a hook for live updates. With a live
        publisher (projections/_live.py), hands it the page's aggregates and position; never blocks."""
        if self.live is not None and events:
            self.live.notify({e.originator_id for e, _ in events}, events[-1][1].notification_id)

    def record_position(self, curs: psycopg.Cursor[DictRow], tracking: Tracking, *, pipelined: bool = False) -> None:
        """Record ``tracking`` in the page's transaction; refused (IntegrityError) unless it moves forward.

        ``pipelined``: in a pipeline, without waiting for an answer; a position that does not move forward is then
        refused by the server (psycopg.DataError) when the pipeline is synced."""
        if pipelined and self.datastore.single_row_tracking:
            params = {"application_name": tracking.application_name, "notification_id": tracking.notification_id}
            curs.execute(self.forward_tracking_statement, params, prepare=True)
            return
        self._insert_tracking(curs, tracking)


def event_class(aggregate: type[Any], name: str) -> type[Any]:
    """The event class ``name`` of ``aggregate`` (made by its ``@event`` decorators at class creation, which a type
    checker does not see): ``event_class(Integrations, "EndpointAdded")`` for ``Integrations.EndpointAdded``."""
    found = getattr(aggregate, name)
    assert isinstance(found, type), name
    return found
