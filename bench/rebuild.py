"""Benchmark: rebuild every projection from N events, in events per second per projection and in total.

    .venv/bin/python -m bench.rebuild --events 1000000 [--batch 5000] [--verify]

On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres): writes N realistic events (bench/events.py: aggregates through the
app, saved in bulk), then runs `chatassist projections rebuild NAME` for each projection in PROJECTIONS (the code
path of the command, with its progress lines), one after the other. With --verify, the live projections are first
run to the head, and each table's checksum after the rebuild is compared with the incremental run's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import psycopg

from bench.events import fill
from chatassist.bootstrap import PROJECTIONS, bootstrap
from chatassist.projection_runner import PagedRunner
from chatassist.rebuild import rebuild
from chatassist.settings import Settings
from tests.support.services import throwaway_database


def checksums(database_url: str, tables: list[str]) -> dict[str, str]:
    """An md5 of every table's rows in a fixed order (the text of each row)."""
    out = {}
    with psycopg.connect(database_url) as conn:
        for table in tables:
            row = conn.execute(f"SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM {table} t".encode())
            out[table] = str(row.fetchone()[0])  # type: ignore[index]
    return out


def main() -> None:
    """Fill, (verify,) rebuild each projection, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--verify", action="store_true", help="compare with the incremental run's tables")
    parser.add_argument("--only", nargs="*", default=list(PROJECTIONS))
    args = parser.parse_args()
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with throwaway_database(server) as database_url:
        container = bootstrap(Settings(database_url=database_url, redis_url=redis_url, data_dir="/tmp/ca-bench"))
        try:
            started = time.monotonic()
            written = fill(container.app, args.events)
            fill_s = time.monotonic() - started
            print(f"wrote {written:,} events in {fill_s:.1f} s ({written / fill_s:,.0f} events/s)", file=sys.stderr)
            before: dict[str, str] = {}
            if args.verify:  # the incremental run through the projections' SQL handlers, one page at a time
                for name in args.only:
                    projection_class, view_class = PROJECTIONS[name]
                    runner = PagedRunner(projection_class, view_class, container.es_env, fold=False).start()
                    runner.wait(container.last_position(projection_class.topics), timeout=3600)
                    runner.stop()
            results = []
            for name in args.only:
                if args.verify:
                    tables = _tables(database_url, PROJECTIONS[name][1].prefix)
                    before = checksums(database_url, tables)
                result = rebuild(container, name, batch=args.batch)
                row = {"projection": name, "events": result.events, "seconds": round(result.seconds, 2)}
                row["events_per_s"] = round(result.events_per_s)
                if args.verify:
                    row["identical"] = checksums(database_url, list(before)) == before
                results.append(row)
            total_events = sum(r["events"] for r in results)
            total_s = sum(r["seconds"] for r in results)
            summary = {
                "store_events": written,
                "batch": args.batch,
                "projections": results,
                "total": {
                    "events_applied": total_events,
                    "seconds": round(total_s, 2),
                    "events_per_s": round(total_events / total_s),
                    "store_events_per_s": round(written / total_s),
                },
            }
            print(json.dumps(summary, indent=2))
        finally:
            container.close()


def _tables(database_url: str, prefix: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s AND relname NOT LIKE '%%tracking'",
            (prefix.replace("_", r"\_") + r"\_%",),
        ).fetchall()
    return sorted(r[0] for r in rows)


if __name__ == "__main__":
    main()
