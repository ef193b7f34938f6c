"""The audit trail of one conversation, oldest first: rows of the audit log whose aggregate is the conversation (the
team's actions) or whose details name it (replays, rebuilds and exports of it)."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

from projections.audit.projection import LOG
from read_api.get_audit_log.query import AuditEntry, AuditSource, _entry

BATCH = 1000


def conversation_trail(view: AuditSource, workspace_id: UUID, conversation_id: UUID) -> Iterator[list[AuditEntry]]:
    """The rows, oldest first, a batch at a time (blocking)."""
    after = 0
    while True:
        rows = view.query(
            f"SELECT position, occurred_at, actor_id, kind, aggregate_id, aggregate_version, details FROM {LOG}"
            " WHERE workspace_id = %(ws)s AND position > %(after)s"
            " AND (aggregate_id = %(cid)s OR details->>'conversation_id' = %(cid_text)s)"
            " ORDER BY position LIMIT %(limit)s",
            {
                "ws": workspace_id,
                "after": after,
                "cid": conversation_id,
                "cid_text": str(conversation_id),
                "limit": BATCH,
            },
        )
        if rows:
            yield [_entry(r) for r in rows]
        if len(rows) < BATCH:
            return
        after = int(rows[-1]["position"])
