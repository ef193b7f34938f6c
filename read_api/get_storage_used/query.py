"""GetStorageUsed: bytes of stored events that belong to one workspace.

Counted: the stored state (``octet_length(state)``, as written, so after compression or encryption) of every
event whose originator is the workspace itself, one of its per-workspace aggregates (app settings, key ring,
...; ids passed in) or one of its conversations. Not counted: accounts (an account can belong to several
workspaces), view tables and indexes.

What it costs (ADR 0058, ADR 0061): the conversations' share, nearly all of it, is a running total per workspace
(``storage_used_v1``) that the transcript runner keeps, folding each page's range of the store in the page's own
transaction (projections/transcripts/storage.py): it is as fresh as the transcript view. The workspace's own
aggregates are summed directly, by their keys. A read is one statement of two keyed reads, and writes nothing.
Events are never deleted, so the totals only grow; a conversation the retention purge removed from the transcript
view stays counted (its events are still stored).
"""

from __future__ import annotations

from uuid import UUID

from projections.transcripts.projection import TranscriptView
from projections.transcripts.storage import EVENTS_TABLE, POSITION, TOTALS, recount

__all__ = ["POSITION", "READ_SQL", "recount", "storage_used"]

READ_SQL = (
    f"SELECT coalesce((SELECT bytes FROM {TOTALS} WHERE workspace_id = %s), 0)"
    f" + coalesce((SELECT sum(octet_length(e.state)) FROM {EVENTS_TABLE} e WHERE e.originator_id = ANY(%s)), 0)"
    " AS bytes"
)


def storage_used(view: TranscriptView, workspace_id: UUID, own_ids: list[UUID]) -> int:
    """Bytes of the workspace's stored events (see the module docstring); a read only."""
    rows = view.query(READ_SQL, (workspace_id, [workspace_id, *own_ids]))
    return int(rows[0]["bytes"]) if rows else 0
