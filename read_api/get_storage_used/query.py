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

from typing import Any
from uuid import UUID

from projections.transcripts.projection import CONVERSATIONS, TranscriptView

EVENTS_TABLE = "chatassist_events"
TOTALS, POSITION = "storage_used_v1", "storage_used_v1_position"
FOLD_LOCK = "chatassist.storage_used.fold"

# The fold's bounds: its position, and the transcript view's (every event up to it belongs to a conversation the
# view holds).
BOUNDS_SQL = (
    f"SELECT p.notification_id AS after, (SELECT max(t.notification_id) FROM {{tracking}} t"
    f" WHERE t.application_name <> '__migration__') AS upto FROM {POSITION} p WHERE p.one"
)
# The events in (after, upto] summed per workspace of their conversation, added to the totals, and the position moved;
# one statement. Planned with the bounds as values, so a small range is read by the notification_id index; each
# event's conversation is looked up by its key (a correlated subquery: a join was planned as a hash of every
# conversation of the store when the statistics had not seen the newest positions). Its cost is the events in the
# range.
FOLD_SQL = f"""
WITH added AS (
    INSERT INTO {TOTALS} AS s (workspace_id, bytes)
    SELECT w.workspace_id, sum(w.bytes)::bigint FROM (
        SELECT (SELECT c.workspace_id FROM {CONVERSATIONS} c WHERE c.id = e.originator_id) AS workspace_id,
               octet_length(e.state) AS bytes
        FROM {EVENTS_TABLE} e WHERE e.notification_id > %(after)s AND e.notification_id <= %(upto)s
        OFFSET 0  -- a fence: the filter below would be pushed down as a second lookup per event
    ) w WHERE w.workspace_id IS NOT NULL
    GROUP BY w.workspace_id
    ON CONFLICT (workspace_id) DO UPDATE SET bytes = s.bytes + excluded.bytes
)
UPDATE {POSITION} SET notification_id = %(upto)s WHERE one
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
        fold_on(curs, view.tracking_table_name)


def fold_on(curs: Any, tracking_table: str) -> None:
    """``fold`` in the caller's transaction on ``curs`` (a dict-row cursor)."""
    curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (FOLD_LOCK,))
    bounds = curs.execute(BOUNDS_SQL.format(tracking=tracking_table).encode()).fetchone()
    if bounds is not None and bounds["upto"] is not None and bounds["upto"] > bounds["after"]:
        # no JIT: the plan's estimate of a per-event lookup is high enough to compile it (100 ms for 1,000 events)
        curs.execute("SET LOCAL jit = off")
        # planned with these bounds at each run (a generic plan could not tell a small range from the whole store)
        curs.execute(FOLD_SQL.encode(), {"after": bounds["after"], "upto": bounds["upto"]}, prepare=False)


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
        fold_on(curs, view.tracking_table_name)
