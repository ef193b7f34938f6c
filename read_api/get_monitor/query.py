"""GetMonitor: the agents' monitor, one view of a workspace's conversations a keyset page at a time.

Views and their order (docs/monitor.md):
- ``queue``: waiting for a person (state queued), most urgent priority first, then the longest wait;
- ``escalations``: every escalated conversation not closed, in the same order (wait since the escalation);
- ``active``: open conversations (not resolved or closed), latest activity first;
- ``closed``: finished ones (resolved or closed), latest activity first.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from projections._common import TrackedView
from projections.monitor.projection import CONVERSATIONS
from read_api._reads import Planned, run

VIEWS = ("active", "queue", "escalations", "closed")
MAX_LIMIT, DEFAULT_LIMIT = 200, 50
NO_PRIORITY = 99  # sorts after every real priority
_ROUTE = re.compile(r"[\w .&/-]{1,60}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WHERE = {
    "active": "state NOT IN ('resolved', 'closed')",
    "closed": "state IN ('resolved', 'closed')",
    "queue": "state = 'queued'",
    "escalations": "escalated_at IS NOT NULL AND state <> 'closed'",
}
_URGENT = {"queue": "queued_at", "escalations": "escalated_at"}  # the wait each urgent view sorts by

MonitorSource = TrackedView
"""What the monitor query reads through: any view on the database."""


class MonitorRow(msgspec.Struct):
    """One conversation as the monitor lists it. ``visitor_id`` and ``last_message`` are the visitor's personal
    data; ``queued_at`` is when it started waiting for a person (null when it is not waiting)."""

    id: UUID
    state: str
    visitor_id: str | None
    channel: str
    topic: str | None
    confidence: float | None
    turns: int
    notes: int
    started_at: datetime
    last_activity_at: datetime
    escalated_at: datetime | None
    queued_at: datetime | None
    claimed_at: datetime | None
    priority: int | None
    rule: str | None
    reason: str | None
    route: str | None
    offer_rule: str | None
    assignee: str | None
    last_message: str | None
    last_message_by: str | None
    last_message_at: datetime | None
    csat: int | None
    closed_at: datetime | None
    closed_reason: str | None


class MonitorPage(msgspec.Struct):
    """One page of a view; ``next_cursor`` fetches the next one (null on the last page). ``as_of`` is the server's
    clock when it was read: waiting time is ``as_of - queued_at``."""

    view: str
    items: list[MonitorRow]
    next_cursor: str | None
    as_of: datetime


class MonitorFilter(msgspec.Struct, frozen=True):
    """Validated request: the view, a team (route), an assignee (account id, or ``none`` for unassigned)."""

    view: str = "active"
    route: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    after: tuple[Any, ...] | None = None
    limit: int = DEFAULT_LIMIT


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def encode_cursor(view: str, row: dict[str, Any]) -> str:
    """An opaque cursor after ``row`` in ``view``'s order."""
    if view in _URGENT:
        key: list[Any] = [row["priority"] or NO_PRIORITY, _micros(row[_URGENT[view]]), str(row["id"])]
    else:
        key = [_micros(row["last_activity_at"]), str(row["id"])]
    raw = json.dumps({"v": view, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(view: str, cursor: str) -> tuple[Any, ...]:
    """The sort key of a cursor of ``view``; 422 invalid_cursor if it is not one."""
    bad = InvalidInput(
        f"cursor is not a next_cursor of the {view} view: start again without it.", code="invalid_cursor"
    )
    if len(cursor) > 300:
        raise bad
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = body["k"]
        if body["v"] != view:
            raise bad
        if view in _URGENT:
            priority, us, row_id = key
            return (int(priority), _instant(int(us)), UUID(row_id))
        us, row_id = key
        return (_instant(int(us)), UUID(row_id))
    except (ValueError, TypeError, KeyError, binascii.Error, OverflowError):
        raise bad from None


def monitor_filter(
    view: str = "active",
    route: str | None = None,
    assignee: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> MonitorFilter:
    """The request's filters; 422 unknown_view, invalid_route, invalid_assignee, invalid_cursor, limit_too_large or
    invalid_limit."""
    if view not in VIEWS:
        raise InvalidInput(f"view must be one of {', '.join(VIEWS)}, got {view[:40]!r}.", code="unknown_view")
    if route is not None and not _ROUTE.fullmatch(route):
        raise InvalidInput(
            "route must be a team name such as billing or legal (letters, digits, spaces, . & / - _; at most 60).",
            code="invalid_route",
        )
    unassigned = False
    if assignee is not None:
        if assignee == "none":
            unassigned, assignee = True, None
        else:
            try:
                assignee = str(UUID(assignee))
            except ValueError:
                message = f"assignee must be an agent's account id (a UUID) or none, got {assignee[:40]!r}."
                raise InvalidInput(message, code="invalid_assignee") from None
    if limit > MAX_LIMIT:
        raise InvalidInput(f"limit is {limit}; the largest page is {MAX_LIMIT}.", code="limit_too_large")
    if limit < 1:
        raise InvalidInput("limit must be at least 1.", code="invalid_limit")
    after = decode_cursor(view, cursor) if cursor else None
    return MonitorFilter(view, route, assignee, unassigned, after, limit)


def _order(view: str) -> tuple[str, str]:
    """(ORDER BY, keyset condition) of a view."""
    if view in _URGENT:
        wait = _URGENT[view]
        key = f"coalesce(priority, {NO_PRIORITY}), {wait}, id"
        return key, f"({key}) > (%(k0)s, %(k1)s, %(k2)s)"
    return "last_activity_at DESC, id DESC", "(last_activity_at, id) < (%(k0)s, %(k1)s)"


def get_monitor(view: MonitorSource, workspace_id: UUID, f: MonitorFilter) -> MonitorPage:
    """One page of the workspace's monitor under ``f`` (blocking)."""
    return run(view, plan_monitor(workspace_id, f))


def plan_monitor(workspace_id: UUID, f: MonitorFilter) -> Planned[MonitorPage]:
    """The read of one page of the workspace's monitor under ``f``, for either driver (read_api/_reads.py)."""
    as_of = datetime.now(UTC)
    order, keyset = _order(f.view)
    where = ["workspace_id = %(ws)s", _WHERE[f.view]]
    params: dict[str, Any] = {"ws": workspace_id, "limit": f.limit + 1, "route": f.route, "assignee": f.assignee}
    if f.route is not None:
        where.append("route = %(route)s")
    if f.assignee is not None:
        where.append("assignee = %(assignee)s")
    if f.unassigned:
        where.append("assignee IS NULL")
    if f.after is not None:
        where.append(keyset)
        params.update({f"k{i}": value for i, value in enumerate(f.after)})
    fields = ", ".join(MonitorRow.__struct_fields__)
    sql = f"SELECT {fields} FROM {CONVERSATIONS} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %(limit)s"

    def page(rows: list[dict[str, Any]]) -> MonitorPage:
        more = len(rows) > f.limit
        rows = rows[: f.limit]
        items = [MonitorRow(**r) for r in rows]
        return MonitorPage(f.view, items, encode_cursor(f.view, rows[-1]) if more else None, as_of)

    return Planned([(sql, params)], lambda rows: page(rows[0]))
