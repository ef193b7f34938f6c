"""Benchmark: rebuild every projection from N events, in store events per second and per projection.

    .venv/bin/python -m bench.rebuild --events 1000000 [--batch 10000] [--each] [--verify] [--only NAME ...]
        [--repeat N] [--profile FILE] [--workers N] [--hold ROWS] [--database-url URL]

On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres): writes N realistic events (bench/events.py: aggregates through the
app, saved in bulk), then runs the code of `chatassist projections rebuild --all` (or of `rebuild NAME ...` with
--only): one pass over the store for every projection, with its progress lines. With --each, the projections are
rebuilt one after the other instead (one pass each, as `rebuild NAME` does). --repeat N rebuilds N times on the
same store and shows the fastest (every run's seconds listed). With --verify, the live projections are first run
to the head through their SQL handlers only, and each table's checksum after the (last) rebuild is compared with
the incremental run's. --profile FILE writes a cProfile of the rebuilds (not of the fill). --workers and --hold
are `rebuild_all`'s (share processes, default one per CPU; rows a fold holds across pages, 0 for page by page).
--database-url rebuilds the store of an existing database (the 1M store `bench.dashboards` keeps) instead of
writing a throwaway one; its live tables are swapped for the rebuilt ones, as `chatassist projections rebuild`
does.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import time
from contextlib import nullcontext
from typing import Any

import psycopg

from bench.events import fill
from chatassist.bootstrap import PROJECTIONS, Container, bootstrap
from chatassist.projection_runner import PagedRunner
from chatassist.rebuild import BATCH, HOLD_ROWS, RebuildResult, rebuild, rebuild_all
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


def _row(result: RebuildResult) -> dict[str, Any]:
    applying = result.apply_seconds
    return {
        "projection": result.name,
        "events": result.events,
        "seconds": round(result.seconds, 2),
        "apply_seconds": round(applying, 2),
        "events_per_apply_s": round(result.events / applying) if applying > 0 else None,
    }


def _rebuild(container: Container, args: argparse.Namespace) -> tuple[list[dict[str, Any]], float, dict[str, Any]]:
    """Rebuild as asked; the per-projection rows, the wall time and the pass's own figures."""
    started = time.monotonic()
    if args.each:
        rows = [
            _row(rebuild(container, name, batch=args.batch, hold=args.hold, workers=args.workers)) for name in args.only
        ]
        return rows, time.monotonic() - started, {}
    done = rebuild_all(container, args.only, batch=args.batch, hold=args.hold, workers=args.workers)
    figures = {
        "events_read": done.events,
        "decode_seconds": done.decode_seconds,
        "processes": done.processes,
        "shares": [
            {k: round(v, 2) if isinstance(v, float) else v for k, v in vars(s).items() if k not in ("done", "last")}
            for s in done.shares
        ],
    }
    return [_row(r) for r in done.results], time.monotonic() - started, {**figures, "phases": done.phases}


def main() -> None:
    """Fill, (verify,) rebuild, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--each", action="store_true", help="one pass per projection, one after the other")
    parser.add_argument("--verify", action="store_true", help="compare with the incremental run's tables")
    parser.add_argument("--only", nargs="*", default=list(PROJECTIONS))
    parser.add_argument("--repeat", type=int, default=1, help="rebuild this many times on the same store (best shown)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the rebuild to FILE")
    parser.add_argument("--workers", type=int, default=None, help="share processes (default: one per CPU, at most 4)")
    parser.add_argument("--hold", type=int, default=HOLD_ROWS, help="rows a fold may hold across pages (0: none)")
    parser.add_argument(
        "--database-url",
        help="rebuild the store of this database (kept, e.g. bench.dashboards's) instead of writing a throwaway one",
    )
    args = parser.parse_args()
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with nullcontext(args.database_url) if args.database_url else throwaway_database(server) as database_url:
        container = bootstrap(Settings(database_url=database_url, redis_url=redis_url, data_dir="/tmp/ca-bench"))
        try:
            started = time.monotonic()
            if args.database_url:  # the store as it is
                written = container.last_position(()) or 0
            else:
                written = fill(container.app, args.events)
                fill_s = time.monotonic() - started
                print(f"wrote {written:,} events in {fill_s:.1f} s ({written / fill_s:,.0f} events/s)", file=sys.stderr)
            tables = [t for name in args.only for t in _tables(database_url, PROJECTIONS[name][1].prefix)]
            before: dict[str, str] = {}
            if args.verify:  # the incremental run through the projections' SQL handlers, one page at a time
                for name in args.only:
                    projection_class, view_class = PROJECTIONS[name]
                    runner = PagedRunner(projection_class, view_class, container.es_env, fold=False).start()
                    runner.wait(container.last_position(projection_class.topics), timeout=3600)
                    runner.stop()
                before = checksums(database_url, tables)
            profile = cProfile.Profile() if args.profile else None
            if profile is not None:
                profile.enable()
            runs = [_rebuild(container, args) for _ in range(args.repeat)]
            rows, seconds, figures = min(runs, key=lambda run: run[1])
            if profile is not None:
                profile.disable()
                profile.dump_stats(args.profile)
            summary: dict[str, Any] = {
                "store_events": written,
                "batch": args.batch,
                "mode": "one pass per projection" if args.each else "one pass for all",
                "projections": rows,
                "total": {
                    "events_applied": sum(r["events"] for r in rows),
                    "seconds": round(seconds, 2),
                    "store_events_per_s": round(written / seconds),
                    **figures,
                },
            }
            if len(runs) > 1:
                summary["runs"] = [round(r[1], 2) for r in runs]
            if args.verify:
                after = checksums(database_url, tables)
                summary["identical"] = after == before
                summary["differing_tables"] = [t for t in tables if after[t] != before[t]]
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
