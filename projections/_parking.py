"""Parked workspaces: a runner that meets an event it cannot apply parks the event's workspace for that view, skips
the workspace's later events there, and goes on with the others' (docs/adr/0012-park-a-workspace-not-the-view.md).

The parked rows live in ``projection_parked`` (migrations/0008), written in the transaction of the page that moves the
tracking position past the events they concern, so a parked event or a skipped one is never lost silently: it is
there to read (``chatassist projections parked``, ``status``, ``/ready``) and to re-apply (``retry``).

Which workspace an event belongs to (its *scope*): its own ``workspace_id`` field if it has one (a conversation's
start, a model call, a workspace's or a per-workspace aggregate's creation), else the ``workspace_id`` of its
aggregate's first event (a conversation's later events), else its aggregate itself (an account's events).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql
from psycopg.rows import tuple_row

from domain.text import storable

TABLE = "projection_parked"
SCOPES_HELD = 100_000  # aggregates whose scope is remembered; forgotten all at once past this
FIRST_EVENTS_SQL = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM {} e"
    " WHERE originator_id = ANY(%s) AND originator_version = 1"
)


@dataclass(frozen=True)
class Parked:
    """One parked workspace (``scope``) of one projection."""

    projection: str
    scope: UUID
    notification_id: int
    topic: str
    originator_id: UUID
    originator_version: int
    error: str
    parked_at: datetime
    retried_at: datetime | None
    skipped: int
    last_skipped: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return {
            "projection": self.projection,
            "workspace": str(self.scope),
            "event": f"{self.topic.rsplit(':', 1)[-1]} at position {self.notification_id}",
            "aggregate": str(self.originator_id),
            "version": self.originator_version,
            "error": self.error,
            "parked_at": self.parked_at.isoformat(),
            "retried_at": None if self.retried_at is None else self.retried_at.isoformat(),
            "skipped": self.skipped,
            "last_skipped": self.last_skipped,
        }


def parked(conn: psycopg.Connection[Any], projection: str | None = None) -> list[Parked]:
    """The parked workspaces (of ``projection``, or of every projection), oldest first."""
    query = (
        "SELECT projection, scope, notification_id, topic, originator_id, originator_version, error, parked_at,"
        f" retried_at, skipped, last_skipped FROM {TABLE}"
    )
    params: list[Any] = []
    if projection is not None:
        query += " WHERE projection = %s"
        params.append(projection)
    with conn.cursor(row_factory=tuple_row) as curs:
        rows = curs.execute((query + " ORDER BY parked_at, projection, scope").encode(), params).fetchall()
    return [Parked(*row) for row in rows]


def storable_event(event: Any) -> Any:
    """``event`` with every text a view cannot store made storable (domain/text.py): a copy when one changed,
    else the event itself."""
    fields = event.__dict__
    clean = storable(fields)
    if clean is fields:
        return event
    copy = object.__new__(type(event))
    copy.__dict__.update(clean)
    return copy


class Scopes:
    """The scope (workspace) of events, remembered by aggregate."""

    def __init__(self, mapper: Mapper[Any], events_table: str) -> None:
        self.mapper = mapper
        self.first_events_sql = sql.SQL(FIRST_EVENTS_SQL).format(sql.Identifier(events_table))
        self.known: dict[Any, Any] = {}

    def of(self, conn: psycopg.Connection[Any], events: Iterable[Any]) -> list[Any]:
        """The scope of each of ``events`` (domain events), in order; reads the first events of the aggregates
        whose scope is not known (one query)."""
        events = list(events)
        unknown = {
            e.originator_id
            for e in events
            if not isinstance(getattr(e, "workspace_id", None), UUID) and e.originator_id not in self.known
        }
        if unknown:
            self.learn(conn, unknown)
        return [self.scope(e) for e in events]

    def scope(self, event: Any) -> Any:
        """The scope of ``event`` once its aggregate's is known (``of``, ``learn``)."""
        workspace = getattr(event, "workspace_id", None)
        if isinstance(workspace, UUID):
            return workspace
        return self.known.get(event.originator_id, event.originator_id)

    def learn(self, conn: psycopg.Connection[Any], aggregates: Sequence[Any] | set[Any]) -> None:
        """Read the first event of each of ``aggregates`` and remember its workspace (or the aggregate itself)."""
        from projections._paging import stored_rows  # the page reader's row type (no cycle at import time)

        if len(self.known) + len(aggregates) > SCOPES_HELD:
            self.known.clear()
        found: dict[Any, Any] = {}
        with conn.cursor(row_factory=stored_rows, binary=True) as curs:
            for row in curs.execute(self.first_events_sql, [list(aggregates)]).fetchall():
                try:
                    first = self.mapper.to_domain_event(row)
                except Exception:  # a first event that cannot be decoded: the aggregate is its own scope
                    continue
                workspace = getattr(first, "workspace_id", None)
                if isinstance(workspace, UUID):
                    found[row.originator_id] = workspace
        for aggregate in aggregates:
            self.known[aggregate] = found.get(aggregate, aggregate)

    def of_notification(self, conn: psycopg.Connection[Any], notification: Any) -> Any:
        """The scope of a stored event that may not decode (its aggregate's first event then says)."""
        try:
            event = self.mapper.to_domain_event(notification)
        except Exception:
            if notification.originator_id not in self.known:
                self.learn(conn, [notification.originator_id])
            return self.known[notification.originator_id]
        return self.of(conn, [event])[0]
