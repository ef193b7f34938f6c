"""GetConversationsInRange: the conversations of a workspace whose activity falls in [from, to) (started before
``to`` and last active at or after ``from``), oldest start first, a page of ids at a time (keyset), so an export of a
range never holds every id at once. The range is limited to ``MAX_RANGE_DAYS`` (422 ``export_range_too_large``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from projections._common import TrackedView
from read_api.get_audit_log.query import _instant

MAX_RANGE_DAYS = 31
PAGE = 500
TABLE = "transcript_v2_conversations"


class ExportRange(msgspec.Struct, frozen=True):
    """A validated half-open range [since, until)."""

    since: datetime
    until: datetime


def export_range(from_: str | None, to: str | None) -> ExportRange:
    """``from`` and ``to`` (ISO dates, each its day's start, or datetimes; naive = UTC) as [from, to); 422
    invalid_date_range (missing, unreadable, empty) or export_range_too_large (over MAX_RANGE_DAYS days)."""
    if not from_ or not to:
        raise InvalidInput(
            "from and to are required: an ISO date (YYYY-MM-DD) or date and time; the range is [from, to).",
            code="invalid_date_range",
        )
    since, until = _instant("from", from_, end=False), _instant("to", to, end=False)
    if since >= until:
        raise InvalidInput(
            f"from ({from_}) must be before to ({to}); the range is [from, to).", code="invalid_date_range"
        )
    if until - since > timedelta(days=MAX_RANGE_DAYS):
        raise InvalidInput(
            f"An export covers at most {MAX_RANGE_DAYS} days; from {from_} to {to} is {(until - since).days} days or"
            " more. Export it in several ranges.",
            code="export_range_too_large",
        )
    return ExportRange(since, until)


def conversations_in_range(view: TrackedView, workspace_id: UUID, span: ExportRange) -> Iterator[list[UUID]]:
    """The ids, oldest start first, ``PAGE`` at a time (blocking)."""
    after: tuple[datetime, UUID] | None = None
    while True:
        keyset = " AND (started_at, id) > (%(at)s, %(id)s)" if after else ""
        rows = view.query(
            f"SELECT id, started_at FROM {TABLE} WHERE workspace_id = %(ws)s AND started_at < %(until)s"
            f" AND last_activity_at >= %(since)s{keyset} ORDER BY started_at, id LIMIT %(limit)s",
            {
                "ws": workspace_id,
                "since": span.since,
                "until": span.until,
                "at": after[0] if after else None,
                "id": after[1] if after else None,
                "limit": PAGE,
            },
        )
        if rows:
            yield [UUID(str(r["id"])) for r in rows]
        if len(rows) < PAGE:
            return
        after = (rows[-1]["started_at"], UUID(str(rows[-1]["id"])))
