"""What a projection runner's wake costs PostgreSQL on a kept store (issue 20): for each projection, the read of
"my topics after my tracked position" that the runner makes on every NOTIFY and every idle tick, EXPLAIN ANALYZEd
(as the runner runs it: planned each time), with the rows PostgreSQL looked at.

    .venv/bin/python -m bench.wake_cost --database-url postgresql://postgres@127.0.0.1:5432/chatassist_bench
    .venv/bin/python -m bench.wake_cost --database-url ... --without-index   # the same with the topic index dropped
                                                                             # (recreated at the end)
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import psycopg
from psycopg import sql

from chatassist.bootstrap import PROJECTIONS
from projections._paging import page_query

EVENTS = "chatassist_events"
INDEX = f"{EVENTS}_topic_notification_id"


def examined(plan: dict[str, Any]) -> int:
    """Rows every node produced or threw away."""
    own = int(plan.get("Actual Rows", 0)) + int(plan.get("Rows Removed by Filter", 0))
    return own + sum(examined(child) for child in plan.get("Plans", []))


def wake(conn: psycopg.Connection[Any], position: int, topics: tuple[str, ...], runs: int) -> dict[str, Any]:
    """Execution times (ms) and rows examined of the wake's read at ``position``."""
    query, params = page_query(EVENTS, position, topics, 500)
    times, rows = [], 0
    for _ in range(runs):
        (plan,) = conn.execute(sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query, params).fetchone() or [None]
        root = (plan if isinstance(plan, list) else json.loads(plan))[0]
        times.append(float(root["Execution Time"]) + float(root["Planning Time"]))
        rows = examined(root["Plan"])
    times.sort()
    return {
        "position": position,
        "topics": len(topics),
        "rows_examined": rows,
        "ms_p50": round(statistics.median(times), 3),
        "ms_p99": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--without-index", action="store_true", help="measure with the topic index dropped, then rebuild it")
    args = p.parse_args()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        head = conn.execute(f"SELECT max(notification_id) FROM {EVENTS}").fetchone()
        report: dict[str, Any] = {"events": head[0] if head else 0, "index": not args.without_index, "wakes": {}}
        try:
            if args.without_index:
                conn.execute(f"DROP INDEX IF EXISTS {INDEX}")
            tracking = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE '%_tracking'")]
            for name, (projection_class, _) in PROJECTIONS.items():
                # where its runner stands: after its last event, with every later event of other topics ahead
                table = next(t for t in tracking if t.startswith(name))
                row = conn.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(sql.Identifier(table)))
                position = int((row.fetchone() or [0])[0] or 0)
                report["wakes"][name] = wake(conn, position, tuple(projection_class.topics), args.runs)
            report["wakes"]["rare topic, at the start of the store"] = wake(conn, 0, ("no.such:Topic",), args.runs)
        finally:
            if args.without_index:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {EVENTS} (topic, notification_id)")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
