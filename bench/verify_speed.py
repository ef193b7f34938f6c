"""``chatassist audit verify``'s check (commands/_chain.verify) on a store of 1,000,000 chained events (issue 17:
at least 100,000 events/s).

The store is a database of its own, kept between runs (``--database-url``; created if missing): it is filled through
the real chained append (``OneTripRecorder``, 2,000 events per append: 200 streams of 10 versions, a 400-byte state
each, as a conversation's events) until it holds ``--events``, then the check runs ``--rounds`` times (the first
reads from disk, the next from the cache) with ``--workers`` connections over ``--shares`` shares of the stream ids.

    .venv/bin/python -m bench.verify_speed \
        --database-url postgresql://postgres@127.0.0.1:5432/chatassist_chain_bench --events 1000000
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands._chain import SHARES, verify
from commands.application import ChatAssistApp

TABLE = "chatassist_events"


def ensure_database(url: str) -> None:
    """Create the database of ``url`` if it does not exist."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info.pop("dbname"))
    admin = psycopg.conninfo.make_conninfo(**{**info, "dbname": "postgres"})
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fill(url: str, events: int) -> int:
    """Append chained events until the store holds ``events``; how many it holds."""
    app = ChatAssistApp(env=eventsourcing_env(Settings(database_url=url, db_pool_size=2), url))
    state = json.dumps({"text": "y" * 400, "tokens": 1234, "cost_usd": "0.00012"}).encode()
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE))).fetchone()
    have = int(row[0]) if row else 0
    started = time.perf_counter()
    while have < events:
        batch = [
            StoredEvent(s, v, "bench:Event", state) for s in (uuid.uuid4() for _ in range(200)) for v in range(1, 11)
        ]
        app.recorder.insert_events(batch)
        have += len(batch)
        if have % 100_000 == 0:
            print(f"filled {have:,} events in {time.perf_counter() - started:.0f} s", flush=True)
    app.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return have


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--shares", type=int, default=SHARES)
    p.add_argument("--read-only", action="store_true", help="an existing store (another's): no fill, no VACUUM")
    args = p.parse_args()
    if args.read_only:
        with psycopg.connect(args.database_url) as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE))).fetchone()
        held = int(row[0]) if row else 0
    else:
        ensure_database(args.database_url)
        held = fill(args.database_url, args.events)
    runs: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        report = verify(args.database_url, TABLE, shares=args.shares, workers=args.workers)
        seconds = time.perf_counter() - started
        assert report.ok, report.broken[:3]
        runs.append(
            {"events": report.events, "seconds": round(seconds, 2), "events_per_s": round(report.events / seconds)}
        )
    with open("/proc/loadavg", encoding="ascii") as f:
        load = f.read().split()[:3]
    print(
        json.dumps(
            {"store": held, "workers": args.workers, "shares": args.shares, "load": load, "runs": runs}, indent=2
        )
    )


if __name__ == "__main__":
    main()
