"""GetStorageUsed: bytes of stored events that belong to one workspace.

Counted: the stored state (``octet_length(state)``, as written, so after compression or encryption) of every
event whose originator is the workspace itself, one of its per-workspace aggregates (app settings, key ring,
...; ids passed in) or one of its conversations. Not counted: accounts (an account can belong to several
workspaces), view tables and indexes.

What it costs (ADR 0058): the conversations' share, nearly all of it, is a running total per workspace
(``storage_used_v1``) folded from a position in the store (``storage_used_v1_position``): a read first folds the
events appended since the last fold, up to the transcript view's position (so every conversation they belong to is
in the view), then reads one row. The workspace's own aggregates are summed directly, by their keys. A read costs
the events appended since the last read of any workspace, not the store: 654 ms before, under 1 ms after on
1,000,000 events (docs/performance.md). Events are never deleted, so the totals only grow; a conversation the
retention purge removed from the transcript view stays counted (its events are still stored).
"""

from __future__ import annotations

from uuid import UUID

from projections.transcripts.projection import CONVERSATIONS, TranscriptView

EVENTS_TABLE = "chatassist_events"
TOTALS, POSITION = "storage_used_v1", "storage_used_v1_position"
FOLD_LOCK = "chatassist.storage_used.fold"

# The events after the fold's position up to the transcript view's, summed per workspace of their conversation. One
# statement, under the fold's lock; its cost is the events in that range (read by the notification_id index).
FOLD_SQL = f"""
WITH bounds AS (
    SELECT p.notification_id AS after,
           (SELECT max(t.notification_id) FROM {{tracking}} t
            WHERE t.application_name <> '__migration__') AS upto
    FROM {POSITION} p WHERE p.one
), added AS (
    INSERT INTO {TOTALS} AS s (workspace_id, bytes)
    SELECT c.workspace_id, sum(octet_length(e.state))::bigint
    FROM bounds b
    JOIN {EVENTS_TABLE} e ON e.notification_id > b.after AND e.notification_id <= b.upto
    JOIN {CONVERSATIONS} c ON c.id = e.originator_id
    WHERE b.upto > b.after
    GROUP BY c.workspace_id
    ON CONFLICT (workspace_id) DO UPDATE SET bytes = s.bytes + excluded.bytes
    RETURNING 1
)
UPDATE {POSITION} p SET notification_id = b.upto FROM bounds b WHERE p.one AND b.upto > b.after
"""

READ_SQL = (
    f"SELECT coalesce((SELECT bytes FROM {TOTALS} WHERE workspace_id = %s), 0)"
    f" + coalesce((SELECT sum(octet_length(e.state)) FROM {EVENTS_TABLE} e WHERE e.originator_id = ANY(%s)), 0)"
    " AS bytes"
)


def fold(view: TranscriptView) -> None:
    """Add the bytes of the events appended since the last fold to their workspaces' totals, and move the position
    (one transaction; a concurrent fold waits for the lock, then finds nothing left to add)."""
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (FOLD_LOCK,))
        curs.execute(FOLD_SQL.format(tracking=view.tracking_table_name).encode())


def storage_used(view: TranscriptView, workspace_id: UUID, own_ids: list[UUID]) -> int:
    """Bytes of the workspace's stored events (see the module docstring)."""
    fold(view)
    rows = view.query(READ_SQL, (workspace_id, [workspace_id, *own_ids]))
    return int(rows[0]["bytes"]) if rows else 0


def recount(view: TranscriptView) -> None:
    """Forget the totals and fold the whole store again (the rebuild of this running total)."""
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (FOLD_LOCK,))
        curs.execute(f"DELETE FROM {TOTALS}".encode())
        curs.execute(f"UPDATE {POSITION} SET notification_id = 0".encode())
        curs.execute(FOLD_SQL.format(tracking=view.tracking_table_name).encode())
