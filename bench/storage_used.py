"""What "storage used" (read_api/get_storage_used, the settings page) costs on a kept store (issue 20, ADR 0058):
the direct sum over the store it replaced, the running total's first fold from position 0 (once, after the
migration), a fold of the events appended since the last one, and a read with nothing new; the largest workspace.

    .venv/bin/python -m bench.storage_used --database-url postgresql://postgres@127.0.0.1:5432/chatassist_bench

The store must have migration 0044 (any `chatassist` command applies it) and the transcript view at its head.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.app_settings import app_settings_id
from domain.prompt_config import prompt_config_id
from domain.provider_keys import keyring_id
from projections.transcripts.projection import CONVERSATIONS
from projections.transcripts.storage import EVENTS_TABLE, POSITION, TOTALS, fold_on
from read_api.get_storage_used.query import READ_SQL

DIRECT = (
    f"SELECT coalesce(sum(octet_length(e.state)), 0)::bigint FROM {EVENTS_TABLE} e WHERE e.originator_id = ANY(%s)"
    f" OR e.originator_id IN (SELECT c.id FROM {CONVERSATIONS} c WHERE c.workspace_id = %s)"
)
TRACKING = "transcripts_v2_tracking"


def timed(
    conn: psycopg.Connection[Any], runs: int, *statements: tuple[str, Any], fold: bool = False
) -> tuple[list[float], Any]:
    """Milliseconds of each run of ``statements`` (one transaction, after a fold if ``fold``), and the last
    statement's first row."""
    times, row = [], None
    for _ in range(runs):
        began = time.perf_counter()
        with conn.transaction(), conn.cursor(row_factory=dict_row) as curs:
            if fold:
                fold_on(curs, TRACKING)
            for query, params in statements:
                curs.execute(query.encode(), params)
                found = curs.fetchone() if curs.description is not None else None
                row = None if found is None else list(found.values())
        times.append((time.perf_counter() - began) * 1000)
    return times, row


def show(label: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100) if len(times) >= 2 else times * 99
    print(f"{label:<52} runs {len(times):>4}  p50 {statistics.median(times):9.2f} ms  p99 {q[98]:9.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--direct-runs", type=int, default=5)
    args = parser.parse_args()
    with psycopg.connect(args.database_url) as conn:
        conn.autocommit = True
        row = conn.execute(
            f"SELECT workspace_id, count(*) FROM {CONVERSATIONS} GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        assert row is not None, "no conversation in the transcript view"
        ws, conversations = row
        events = conn.execute(f"SELECT max(notification_id) FROM {EVENTS_TABLE}").fetchone()
        print(f"store: {events[0] if events else 0:,} events; workspace {ws}: {conversations:,} conversations")
        own = [ws, app_settings_id(ws), keyring_id(ws), prompt_config_id(ws)]
        direct, direct_row = timed(conn, args.direct_runs, (DIRECT, (own, ws)))
        show("before: direct sum over the store", direct)
        reset = [(f"DELETE FROM {TOTALS}", ()), (f"UPDATE {POSITION} SET notification_id = 0", ())]
        first, _ = timed(conn, 1, *reset)
        first, _ = timed(conn, 1, fold=True)
        show("after: first fold from position 0 (once)", first)
        read = (READ_SQL, (ws, own))
        idle, total = timed(conn, args.runs, read, fold=True)
        show("after: a read (fold of nothing new + one row)", idle)
        assert direct_row is not None and total is not None and total[0] == direct_row[0], (total, direct_row)
        print(f"bytes: {total[0]:,} (equal to the direct sum)")
        # a fold of the last 1,000 events again (what a read after ~300 chat turns folds)
        back = conn.execute(f"SELECT notification_id FROM {POSITION}").fetchone()
        assert back is not None
        undo = (
            f"UPDATE {TOTALS} s SET bytes = s.bytes - d.bytes FROM (SELECT c.workspace_id, sum(octet_length(e.state))"
            f" AS bytes FROM {EVENTS_TABLE} e JOIN {CONVERSATIONS} c ON c.id = e.originator_id"
            " WHERE e.notification_id > %s AND e.notification_id <= %s GROUP BY 1) d"
            " WHERE s.workspace_id = d.workspace_id",
            (back[0] - 1000, back[0]),
        )
        delta = []
        for _ in range(20):
            with conn.transaction():
                conn.execute(undo[0].encode(), undo[1])
                conn.execute(f"UPDATE {POSITION} SET notification_id = %s".encode(), (back[0] - 1000,))
            times, _ = timed(conn, 1, read, fold=True)
            delta += times
        show("after: a read folding 1,000 new events", delta)
        _, again = timed(conn, 1, read)
        assert again is not None and again[0] == total[0], (again, total)


if __name__ == "__main__":
    main()
