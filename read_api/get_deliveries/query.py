"""GetDeliveries: a workspace's delivery log (newest first, by status and target), one delivery with its attempts,
and each target's last success and last error."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import InvalidInput, NotFound
from projections._common import TrackedView
from projections.integrations.projection import ATTEMPTS, DELIVERIES

STATUSES = ("pending", "delivering", "delivered", "failed", "dead")
DEAD_LETTERS = ("failed", "dead")
MAX_LIMIT, DEFAULT_LIMIT = 200, 50


class Attempt(msgspec.Struct):
    """One try: when, the status code (null: no answer), how long it took, what was decided, the answer's start."""

    attempt: int
    at: datetime
    status_code: int | None
    latency_ms: float
    outcome: str
    excerpt: str | None


class Delivery(msgspec.Struct):
    """A delivery of one event to one target."""

    id: str
    target_id: str
    kind: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    event_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempt_log: list[Attempt] | None = None
    payload: str | None = None


class DeliveryPage(msgspec.Struct):
    """Newest first; ``next_before`` is the cursor of the next (older) page, null on the last page."""

    deliveries: list[Delivery]
    next_before: datetime | None


class TargetHealth(msgspec.Struct):
    """A target's last success and last error."""

    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    dead_letters: int


_COLUMNS = (
    "id::text AS id, target_id, kind, event_type, status, attempts, created_at, event_at,"
    " CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at, delivered_at, last_status_code,"
    " last_error"
)


def check_status(status: str | None) -> list[str] | None:
    """The statuses to show: one of STATUSES, or ``dead_letters`` (failed and dead); InvalidInput otherwise."""
    if status is None or status == "":
        return None
    if status == "dead_letters":
        return list(DEAD_LETTERS)
    if status not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(STATUSES)} or dead_letters.", code="invalid_delivery_status"
        )
    return [status]


def list_deliveries(
    view: TrackedView,
    workspace_id: UUID,
    status: str | None = None,
    target_id: str | None = None,
    limit: int = DEFAULT_LIMIT,
    before: datetime | None = None,
) -> DeliveryPage:
    """The workspace's deliveries, newest first, filtered."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit")
    statuses = check_status(status)
    where = ["workspace_id = %(ws)s"]
    params: dict[str, Any] = {"ws": workspace_id, "limit": limit + 1}
    if statuses is not None:
        where.append("status = ANY(%(statuses)s)")
        params["statuses"] = statuses
    if target_id:
        where.append("target_id = %(target)s")
        params["target"] = target_id
    if before is not None:
        where.append("created_at < %(before)s")
        params["before"] = before
    rows = view.query(
        f"SELECT {_COLUMNS} FROM {DELIVERIES} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id LIMIT %(limit)s",
        params,
    )
    items = [msgspec.convert(r, Delivery) for r in rows[:limit]]
    return DeliveryPage(items, items[-1].created_at if len(rows) > limit else None)


def get_delivery(view: TrackedView, workspace_id: UUID, delivery_id: str) -> Delivery:
    """One delivery with its attempts and payload; NotFound ``delivery_not_found``."""
    try:
        key = UUID(delivery_id)
    except ValueError:
        key = None
    rows = (
        view.query(
            f"SELECT {_COLUMNS}, convert_from(body, 'UTF8') AS payload FROM {DELIVERIES}"
            " WHERE id = %(id)s AND workspace_id = %(ws)s",
            {"id": key, "ws": workspace_id},
        )
        if key
        else []
    )
    if not rows:
        raise NotFound("There is no delivery with this id in your workspace.", code="delivery_not_found")
    delivery = msgspec.convert(rows[0], Delivery)
    attempts = view.query(
        f"SELECT attempt, at, status_code, latency_ms, outcome, excerpt FROM {ATTEMPTS} WHERE delivery_id = %(id)s"
        " ORDER BY attempt",
        {"id": key},
    )
    delivery.attempt_log = [msgspec.convert(a, Attempt) for a in attempts]
    return delivery


def target_health(view: TrackedView, workspace_id: UUID) -> dict[str, TargetHealth]:
    """Per target of the workspace: its last success, its last error and how many dead letters it has."""
    rows = view.query(
        "SELECT target_id, max(delivered_at) AS last_success_at,"
        " max(last_attempt_at) FILTER (WHERE last_error IS NOT NULL) AS last_error_at,"
        " (array_agg(last_error ORDER BY last_attempt_at DESC NULLS LAST) FILTER (WHERE last_error IS NOT NULL))[1]"
        " AS last_error, count(*) FILTER (WHERE status IN ('failed', 'dead')) AS dead_letters"
        f" FROM {DELIVERIES} WHERE workspace_id = %(ws)s GROUP BY target_id",
        {"ws": workspace_id},
    )
    return {
        str(r["target_id"]): TargetHealth(r["last_success_at"], r["last_error_at"], r["last_error"], r["dead_letters"])
        for r in rows
    }
