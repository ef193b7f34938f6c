"""Storage used, kept by the transcript runner: a running total per workspace of the stored bytes of its
conversations' events (``storage_used_v1``), folded from a position in the store (``storage_used_v1_position``).

The transcript runner folds each page's range of the store into the totals in the page's own transaction
(``fold_page``, a ``PageApplier`` page hook wired by the composition root), so the totals are exactly as fresh as the
transcript view: a read (``read_api/get_storage_used``) only reads them and writes nothing (ADR 0061). What is
counted, and why one statement over a range: ADR 0058. ``recount`` is the totals' rebuild.
"""

from __future__ import annotations

from typing import Any

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
# A page's fold, first round trip: the lock if free (a recount holding it folds this range too, so the page does not
# wait for it), the position, and no JIT for the rest of the page's transaction (see fold_on).
PAGE_BOUNDS_SQL = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0)) AS locked, set_config('jit', 'off', true) AS jit,"
    f" p.notification_id AS after FROM {POSITION} p WHERE p.one"
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


def fold_page(curs: Any, upto: int) -> None:
    """In a transcript page's transaction, after its rows are written and before its tracking row: add the events
    up to ``upto`` (the page's last notification id) to the totals. Two round trips when there is something to add;
    nothing waits on a recount (it holds the lock and folds the range itself)."""
    bounds = curs.execute(PAGE_BOUNDS_SQL.encode(), (FOLD_LOCK,), prepare=True).fetchone()
    if bounds is not None and bounds["locked"] and upto > bounds["after"]:
        curs.execute(FOLD_SQL.encode(), {"after": bounds["after"], "upto": upto}, prepare=False)


def fold(view: TranscriptView) -> None:
    """Add the bytes of the events appended since the last fold, up to the transcript view's position, to their
    workspaces' totals, and move the position (one transaction; a concurrent fold waits for the lock, then finds
    nothing left to add). The runner's pages do this as they go; this is for a store whose view ran without it."""
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


def recount(view: TranscriptView) -> None:
    """Forget the totals and fold the whole store again, up to the transcript view's position (the rebuild of this
    running total; the runner's pages go on without waiting and the next one folds what follows)."""
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (FOLD_LOCK,))
        curs.execute(f"DELETE FROM {TOTALS}".encode())
        curs.execute(f"UPDATE {POSITION} SET notification_id = 0".encode())
        fold_on(curs, view.tracking_table_name)
