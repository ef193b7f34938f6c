"""Where each projection stands: its position, the store's newest event among its topics, the lag, and the
workspaces parked for it (projections/_parking.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.domain import CanMutateAggregate

from chatassist.bootstrap import PROJECTIONS, Container
from projections._parking import parked


@dataclass(frozen=True)
class ProjectionStatus:
    """One projection. ``lag_seconds`` is the age of the oldest event it has not applied yet (0 when caught up);
    ``parked``: the workspaces whose events it skips since one of them could not be applied (see
    ``chatassist projections retry``)."""

    name: str
    tracking_name: str
    position: int | None
    store_position: int | None
    lag_events: int
    lag_seconds: float
    parked: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return asdict(self)


def projection_status(container: Container, name: str) -> ProjectionStatus:
    """The status of the projection registered as ``name`` in ``PROJECTIONS``."""
    projection_class, view_class = PROJECTIONS[name]
    view = container.view(view_class, projection_class.name)
    try:
        position = view.max_tracking_id(container.app.name)
    finally:
        view.datastore.close()
    topics = list(projection_class.topics)
    table = f"{container.app.name.lower()}_events"
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(
            f"SELECT max(notification_id), count(*) FILTER (WHERE notification_id > %s),"
            f" min(notification_id) FILTER (WHERE notification_id > %s) FROM {table} WHERE topic = ANY(%s)",
            (position or 0, position or 0, topics),
        ).fetchone()
        parked_here = [p.to_dict() for p in parked(conn, projection_class.name.lower())]
    assert row is not None
    store_position, lag_events, first_pending = row[0], int(row[1]), row[2]
    lag_seconds = 0.0
    if first_pending is not None:
        (notification,) = container.app.recorder.select_notifications(first_pending, 1)
        event = container.app.mapper.to_domain_event(notification)
        assert isinstance(event, CanMutateAggregate)  # an aggregate's event: it has a timestamp
        lag_seconds = max(0.0, (datetime.now(UTC) - event.timestamp).total_seconds())
    return ProjectionStatus(
        name, projection_class.name, position, store_position, lag_events, round(lag_seconds, 3), parked_here
    )


def all_statuses(container: Container, names: list[str] | None = None) -> list[ProjectionStatus]:
    """The status of every named projection (default: all registered ones)."""
    unknown = sorted(set(names or ()) - set(PROJECTIONS))
    if unknown:
        raise SystemExit(f"unknown projection(s): {', '.join(unknown)}; known: {', '.join(PROJECTIONS)}")
    return [projection_status(container, name) for name in names or list(PROJECTIONS)]
