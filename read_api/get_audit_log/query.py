"""GetAuditLog: the audit rows of one workspace, newest first, filtered by actor, kind and time, keyset-paginated."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from projections._common import TrackedView
from projections.audit.projection import LOG
from read_api._reads import Planned, Statement, run

MAX_LIMIT, DEFAULT_LIMIT, EXPORT_BATCH = 500, 100, 1000
FORMATS = ("csv", "jsonl")
_KIND = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*\.?")

AuditSource = TrackedView
"""What the audit queries read through: any view on the database (the audit view, or the analytics one)."""


class AuditEntry(msgspec.Struct):
    """One admin-side event: when, who (null when the event names no actor), what, on which aggregate."""

    id: str
    occurred_at: datetime
    actor_id: UUID | None
    kind: str
    aggregate_id: UUID
    aggregate_version: int
    details: dict[str, Any]


class AuditPage(msgspec.Struct):
    """Newest first; ``next_before`` is the cursor of the next (older) page, null on the last page."""

    items: list[AuditEntry]
    next_before: str | None


class AuditFilter(msgspec.Struct, frozen=True):
    """Validated filters: actor, kind (exact, or a prefix ending with a dot), [since, until), before a position."""

    actor: UUID | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


def _instant(name: str, raw: str, *, end: bool) -> datetime:
    """A date (the whole UTC day: ``from`` its start, ``to`` its end) or a datetime (naive = UTC)."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = datetime.combine(day + timedelta(days=1) if end else day, datetime.min.time(), UTC)
            return at
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM:SSZ), got {raw[:40]!r}.",
            code="invalid_date_range",
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    # a datetime ``to`` is inclusive: the bound is the instant just after it
    return parsed + timedelta(microseconds=1) if end else parsed


def audit_filter(
    actor: str | None = None,
    kind: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    before: str | None = None,
) -> AuditFilter:
    """The filters of a request; 422 invalid_actor, invalid_kind, invalid_date_range or invalid_cursor."""
    actor_id = None
    if actor:
        try:
            actor_id = UUID(actor)
        except ValueError:
            message = f"actor must be an account id (a UUID), got {actor[:40]!r}."
            raise InvalidInput(message, code="invalid_actor") from None
    if kind and (len(kind) > 100 or not _KIND.fullmatch(kind)):
        raise InvalidInput(
            f"kind must be a kind such as team.role_changed or a prefix ending with a dot such as team.,"
            f" got {kind[:40]!r}.",
            code="invalid_kind",
        )
    since = _instant("from", from_, end=False) if from_ else None
    until = _instant("to", to, end=True) if to else None
    if since and until and since >= until:
        raise InvalidInput(f"from ({from_}) is after to ({to}).", code="invalid_date_range")
    position = None
    if before is not None:
        if not before.isdigit() or len(before) > 18 or int(before) < 1:
            raise InvalidInput(
                "before must be the next_before cursor of a previous page (a positive whole number).",
                code="invalid_cursor",
            )
        position = int(before)
    return AuditFilter(actor_id, kind or None, since, until, position)


def check_limit(limit: int) -> int:
    """422 limit_too_large above 500, invalid_limit below 1."""
    if limit > MAX_LIMIT:
        raise InvalidInput(f"limit is {limit}; the largest page is {MAX_LIMIT}.", code="limit_too_large")
    if limit < 1:
        raise InvalidInput("limit must be at least 1.", code="invalid_limit")
    return limit


def check_format(format_: str) -> str:
    """422 unknown_format unless csv or jsonl."""
    if format_ not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {format_[:40]!r}.", code="unknown_format")
    return format_


def _rows(view: AuditSource, workspace_id: UUID, f: AuditFilter, limit: int) -> list[dict[str, Any]]:
    return view.query(*_statement(workspace_id, f, limit))


def _statement(workspace_id: UUID, f: AuditFilter, limit: int) -> Statement:
    where = ["workspace_id = %(ws)s"]
    if f.actor is not None:
        where.append("actor_id = %(actor)s")
    if f.kind is not None:
        where.append("starts_with(kind, %(kind)s)" if f.kind.endswith(".") else "kind = %(kind)s")
    if f.since is not None:
        where.append("occurred_at >= %(since)s")
    if f.until is not None:
        where.append("occurred_at < %(until)s")
    if f.before is not None:
        where.append("position < %(before)s")
    sql = (
        "SELECT position, occurred_at, actor_id, kind, aggregate_id, aggregate_version, details"
        f" FROM {LOG} WHERE {' AND '.join(where)} ORDER BY position DESC LIMIT %(limit)s"
    )
    params = {
        "ws": workspace_id,
        "actor": f.actor,
        "kind": f.kind,
        "since": f.since,
        "until": f.until,
        "before": f.before,
        "limit": limit,
    }
    return sql, params


def _entry(row: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=str(row["position"]),
        occurred_at=row["occurred_at"],
        actor_id=row["actor_id"],
        kind=row["kind"],
        aggregate_id=row["aggregate_id"],
        aggregate_version=row["aggregate_version"],
        details=row["details"],
    )


def get_audit_log(view: AuditSource, workspace_id: UUID, f: AuditFilter, limit: int = DEFAULT_LIMIT) -> AuditPage:
    """One page of the workspace's audit log, newest first (blocking)."""
    return run(view, plan_audit_log(workspace_id, f, limit))


def plan_audit_log(workspace_id: UUID, f: AuditFilter, limit: int = DEFAULT_LIMIT) -> Planned[AuditPage]:
    """The read of one page of the audit log, for either driver (read_api/_reads.py)."""
    statement = _statement(workspace_id, f, check_limit(limit) + 1)

    def page(rows: list[dict[str, Any]]) -> AuditPage:
        more = len(rows) > limit
        items = [_entry(r) for r in rows[:limit]]
        return AuditPage(items, items[-1].id if more else None)

    return Planned([statement], lambda rows: page(rows[0]))


def audit_batches(view: AuditSource, workspace_id: UUID, f: AuditFilter) -> Iterator[list[AuditEntry]]:
    """Every matching entry, newest first, a batch at a time (keyset pages, so memory stays flat)."""
    while True:
        rows = _rows(view, workspace_id, f, EXPORT_BATCH)
        if rows:
            yield [_entry(r) for r in rows]
        if len(rows) < EXPORT_BATCH:
            return
        f = msgspec.structs.replace(f, before=int(rows[-1]["position"]))
