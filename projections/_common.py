"""A view base: write rows and the tracking position in one PostgreSQL transaction (exactly once)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder

Statement = tuple[str, dict[str, Any]]


class TrackedView(PostgresTrackingRecorder):
    """A view whose writes commit with its tracking row; a replayed event is rejected, not applied twice."""

    def apply(self, tracking: Tracking, statements: Sequence[Statement]) -> None:
        """Run ``statements`` and record ``tracking`` atomically."""
        with self.datastore.transaction(commit=True) as curs:
            for sql, params in statements:
                curs.execute(sql.encode(), params, prepare=True)  # type: ignore[call-overload]
            self._insert_tracking(curs, tracking)

    def query(self, sql: str, params: dict[str, Any] | Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query as dicts, in one round trip (pooled autocommit connection, prepared)."""
        with self.datastore.get_connection() as conn:
            return list(conn.execute(sql.encode(), params, prepare=True).fetchall())  # type: ignore[call-overload]
