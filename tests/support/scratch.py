"""Empty copies of a projection's tables beside the live ones, and the projection writing into them (rebuild tests)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking

from chatassist.bootstrap import Container


class ScratchProjection:
    """``tables`` maps each table suffix to its ORDER BY key; ``live_prefix`` is e.g. ``analytics_v1``."""

    def __init__(
        self, container: Container, live_prefix: str, tables: dict[str, str], view_class: Any, projection_class: Any
    ) -> None:
        self.tables = tables
        self.prefix = f"{live_prefix.split('_')[0]}_scratch_{uuid.uuid4().hex[:8]}"
        self.url = container.database_url
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in tables:
                conn.execute(f"CREATE TABLE {self.prefix}_{table} (LIKE {live_prefix}_{table} INCLUDING ALL)".encode())
        scratch_view = type("ScratchView", (view_class,), {"prefix": self.prefix})
        self.view: Any = container.view(scratch_view, self.prefix)
        self.projection: Any = projection_class(view=self.view)

    def replay(self, container: Container, stop: int) -> list[Any]:
        """Apply every subscribed event from position 1 to ``stop`` to the scratch projection; returns the
        (event, tracking) pairs applied, in order."""
        applied: list[Any] = []
        start = 1
        while True:
            batch = container.app.recorder.select_notifications(
                start, 500, stop=stop, topics=self.projection.topics, inclusive_of_start=True
            )
            for notification in batch:
                event = container.app.mapper.to_domain_event(notification)
                tracking = Tracking(application_name=container.app.name, notification_id=notification.id)
                self.projection.process_event(event, tracking)
                applied.append((event, tracking))
            if len(batch) < 500:
                return applied
            start = batch[-1].id + 1

    def dump(self, prefix: str) -> dict[str, list[str]]:
        """Every row of every table as PostgreSQL's text of the row, in key order."""
        with psycopg.connect(self.url) as conn:
            return {
                table: [r[0] for r in conn.execute(f"SELECT t::text FROM {prefix}_{table} t ORDER BY {key}".encode())]
                for table, key in self.tables.items()
            }

    def drop(self) -> None:
        """Close the view and drop the scratch tables."""
        self.view.datastore.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in (*self.tables, "tracking"):
                conn.execute(f"DROP TABLE IF EXISTS {self.prefix}_{table}".encode())
