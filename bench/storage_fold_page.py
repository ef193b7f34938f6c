"""What keeping "storage used" in the transcript runner's pages costs (ADR 0061), against the read that folded
(ADR 0058): a settings read now (one statement, no write), a read as it was (the fold's lock and bounds, nothing new
to add, the commit, then the same statement), and the step a transcript page now takes in its transaction, for the
range of a chat turn's page and of a full page. Every fold runs in a transaction that is rolled back: the store is
left as it was.

    .venv/bin/python -m bench.storage_fold_page --database-url postgresql://postgres@127.0.0.1:5432/<a kept store>

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
from projections.transcripts.storage import EVENTS_TABLE, POSITION, fold_on, fold_page
from read_api.get_storage_used.query import READ_SQL

TRACKING = "transcripts_v2_tracking"


def show(label: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100) if len(times) >= 2 else times * 99
    print(f"{label:<58} runs {len(times):>4}  p50 {statistics.median(times):8.3f} ms  p99 {q[98]:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    with psycopg.connect(args.database_url, row_factory=dict_row) as conn:
        conn.autocommit = True
        row = conn.execute(
            f"SELECT workspace_id, count(*) AS n FROM {CONVERSATIONS} GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        assert row is not None, "no conversation in the transcript view"
        ws = row["workspace_id"]
        head = conn.execute(f"SELECT max(notification_id) AS n FROM {EVENTS_TABLE}").fetchone()
        folded = conn.execute(f"SELECT notification_id AS n FROM {POSITION}").fetchone()
        assert head is not None and folded is not None
        print(f"store: {head['n']:,} events, folded up to {folded['n']:,}; workspace {ws}: {row['n']:,} conversations")
        own = [ws, app_settings_id(ws), keyring_id(ws), prompt_config_id(ws)]

        def timed(step: Any, commit: bool) -> list[float]:
            times = []
            for _ in range(args.runs):
                began = time.perf_counter()
                with conn.cursor() as curs:
                    conn.execute("BEGIN")
                    step(curs)
                    conn.execute("COMMIT" if commit else "ROLLBACK")
                times.append((time.perf_counter() - began) * 1000)
            return times

        def read(curs: Any) -> None:
            curs.execute(READ_SQL.encode(), (ws, own), prepare=True).fetchone()

        def old_read(curs: Any) -> None:
            fold_on(curs, TRACKING)
            read(curs)

        show("a settings read now (no write)", timed(read, commit=True))
        show("a settings read as it was (fold of nothing new, commit)", timed(old_read, commit=True))
        upto = int(folded["n"])
        for events in (3, 500):
            steps: list[float] = []

            def page_step(curs: Any, back: int = events, sink: list[float] = steps) -> None:
                curs.execute(f"UPDATE {POSITION} SET notification_id = %s".encode(), (upto - back,))
                began = time.perf_counter()
                fold_page(curs, upto)
                sink.append((time.perf_counter() - began) * 1000)

            timed(page_step, commit=False)
            show(f"a transcript page's fold step, {events} events in its range", steps)


if __name__ == "__main__":
    main()
