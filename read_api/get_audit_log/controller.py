"""GET /api/audit and /api/audit/export: the caller's workspace's audit log, a page or all of it as CSV / JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter
from litestar.response import Stream

from read_api._reads import AsyncReader
from read_api.get_audit_log.query import (
    DEFAULT_LIMIT,
    AuditEntry,
    AuditFilter,
    AuditPage,
    AuditSource,
    audit_batches,
    audit_filter,
    check_format,
    check_limit,
    plan_audit_log,
)

COLUMNS = ("id", "occurred_at", "actor_id", "kind", "aggregate_id", "aggregate_version", "details")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

Actor = Annotated[str | None, QueryParameter(description="an account id: only what this account did")]
Kind = Annotated[str | None, QueryParameter(description="a kind (team.role_changed) or a prefix (team.)")]
From = Annotated[str | None, QueryParameter(name="from", description="ISO date (whole UTC day) or datetime, inclusive")]
To = Annotated[str | None, QueryParameter(description="ISO date (whole UTC day) or datetime, inclusive")]


def csv_lines(entries: list[AuditEntry], header: bool) -> str:
    """CSV text of ``entries`` (``details`` as a JSON object), with the header row first when asked."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for e in entries:
        details = json.dumps(e.details, sort_keys=True, separators=(",", ":"))
        writer.writerow(
            [e.id, e.occurred_at.isoformat(), e.actor_id or "", e.kind, e.aggregate_id, e.aggregate_version, details]
        )
    return out.getvalue()


def jsonl_lines(entries: list[AuditEntry]) -> bytes:
    """One JSON object per entry and line, the same fields as GET /api/audit."""
    return b"".join(msgspec.json.encode(e) + b"\n" for e in entries)


class AuditController(Controller):
    """The audit log (``audit_workspace_id``: the signed-in member's workspace, injected by the web layer)."""

    path = "/"
    tags = ["audit"]

    @get("/", operation_id="getAuditLog", summary="The audit log: who did what and when, newest first")
    async def audit_log(
        self,
        reader: AsyncReader,
        audit_workspace_id: UUID,
        actor: Actor = None,
        kind: Kind = None,
        from_: From = None,
        to: To = None,
        limit: Annotated[int, QueryParameter(description="1 to 500")] = DEFAULT_LIMIT,
        before: Annotated[str | None, QueryParameter(description="next_before of the previous page")] = None,
    ) -> AuditPage:
        """A page of entries; 422 invalid_date_range, limit_too_large, invalid_cursor, invalid_actor, invalid_kind."""
        filters = audit_filter(actor, kind, from_, to, before)
        check_limit(limit)
        return await reader.run(plan_audit_log(audit_workspace_id, filters, limit))

    @get("/export", operation_id="exportAuditLog", summary="Every matching entry as CSV or JSON Lines")
    async def export(
        self,
        audit_source: AuditSource,
        audit_workspace_id: UUID,
        format_: Annotated[str, QueryParameter(name="format", description="csv or jsonl")] = "csv",
        actor: Actor = None,
        kind: Kind = None,
        from_: From = None,
        to: To = None,
        before: Annotated[str | None, QueryParameter(description="only entries older than this cursor")] = None,
    ) -> Stream:
        """Streams all matching entries, newest first, as an attachment; 422 unknown_format and the filter codes."""
        check_format(format_)
        filters = audit_filter(actor, kind, from_, to, before)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Stream(
            _stream(audit_source, audit_workspace_id, filters, format_),
            media_type=MEDIA[format_],
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{format_}"'},
        )


async def _stream(source: AuditSource, workspace_id: UUID, filters: AuditFilter, format_: str) -> AsyncIterator[bytes]:
    batches = audit_batches(source, workspace_id, filters)
    first = True
    while True:
        batch = await anyio.to_thread.run_sync(next, batches, None)
        if batch is None:
            if first and format_ == "csv":
                yield csv_lines([], header=True).encode()
            return
        yield csv_lines(batch, header=first).encode() if format_ == "csv" else jsonl_lines(batch)
        first = False
