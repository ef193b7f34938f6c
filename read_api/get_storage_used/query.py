"""GetStorageUsed: bytes of stored events that belong to one workspace.

Counted: the stored state (``octet_length(state)``, as written, so after compression or encryption) of every
event whose originator is the workspace itself, one of its per-workspace aggregates (app settings, key ring,
...; ids passed in) or one of its conversations (the ids the transcript view lists for the workspace).
Not counted: accounts (an account can belong to several workspaces), view tables and indexes.
"""

from __future__ import annotations

from uuid import UUID

from projections.transcripts.projection import CONVERSATIONS, TranscriptView

EVENTS_TABLE = "chatassist_events"


def storage_used(view: TranscriptView, workspace_id: UUID, own_ids: list[UUID]) -> int:
    """Bytes of the workspace's stored events (see the module docstring)."""
    rows = view.query(
        f"SELECT coalesce(sum(octet_length(e.state)), 0)::bigint AS bytes FROM {EVENTS_TABLE} e"
        f" WHERE e.originator_id = ANY(%s)"
        f" OR e.originator_id IN (SELECT c.id FROM {CONVERSATIONS} c WHERE c.workspace_id = %s)",
        ([workspace_id, *own_ids], workspace_id),
    )
    return int(rows[0]["bytes"]) if rows else 0
