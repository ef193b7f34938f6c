"""What the hash chain adds to an append (issue 17: under 10 %), on a real PostgreSQL, one client.

A throwaway database gets the event store (``OneTripRecorder``: the chained append, "chained") and, beside it, the
same append function without the chain (the body before issue 17, "unchained"). Appends of 3 events (a chat turn's
reply: each a new version of one of 200 streams per function, so each chained append looks up its predecessor's
hash) are timed alternately through both functions, in rounds, so load on the machine falls on both alike. Wall
time is what an append waits; on a loaded machine it is mostly waiting for a core, so the report also gives each
append's CPU time: the PostgreSQL backend's time on a CPU (``/proc/<pid>/schedstat``, nanoseconds, when the server
runs on this machine) plus the client thread's (``time.thread_time_ns``).

    .venv/bin/python -m bench.chain_cost --server-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands._chain import verify
from commands.application import ChatAssistApp
from tests.support.services import throwaway_database

UNCHAINED = "chatassist_append_events_unchained"


def unchained_function(recorder: Any) -> sql.Composed:
    """The append function as it was before the chain (ADR 0010), under another name."""
    table = sql.SQL("{0}.{1}").format(
        sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name)
    )
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
        "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
        "SET LOCAL lock_timeout = '5s'; NOTIFY {channel}; LOCK TABLE {table} IN EXCLUSIVE MODE; "
        "RETURN QUERY INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version, topic, state FROM unnest(events) RETURNING notification_id; "
        "END; $BODY$"
    ).format(
        schema=sql.Identifier(recorder.datastore.schema),
        function=sql.Identifier(UNCHAINED),
        event=sql.Identifier(recorder.stored_event_type_name),
        channel=sql.Identifier(recorder.channel_name),
        table=table,
    )


def schedstat(pid: int) -> Callable[[], int] | None:
    """A reader of process ``pid``'s time on a CPU in ns (None when it is not on this machine)."""
    try:
        handle = open(f"/proc/{pid}/schedstat")  # noqa: SIM115 (kept open, read per append)
    except OSError:
        return None

    def read() -> int:
        handle.seek(0)
        return int(handle.read().split()[0])

    return read


def time_verify(app: ChatAssistApp, url: str, events: int) -> dict[str, Any]:
    """Append ``events`` more chained events (streams of 10, 1,000 per append), then time ``chatassist audit verify``'s
    check over the whole store."""
    state = json.dumps({"text": "y" * 300, "n": 1}).encode()
    for _ in range(0, events, 1000):
        batch = [StoredEvent(s, v, "t:E", state) for s in (uuid.uuid4() for _ in range(100)) for v in range(1, 11)]
        app.recorder.insert_events(batch)
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")
        started = time.perf_counter()
        report = verify(url, "chatassist_events")
        seconds = time.perf_counter() - started
    assert report.ok, report.broken[:3]
    return {"events": report.events, "seconds": round(seconds, 2), "events_per_s": round(report.events / seconds)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url", required=True)
    p.add_argument("--appends", type=int, default=3000, help="appends through each function")
    p.add_argument("--round", type=int, default=100, help="appends per function before switching")
    p.add_argument(
        "--verify-events", type=int, default=0, help="then append this many chained events and time the check"
    )
    args = p.parse_args()
    load = os.getloadavg()[0]
    state = json.dumps({"text": "x" * 400, "tokens": 1234, "cost_usd": {"_type_": "decimal_str", "_data_": "0.1"}})
    with throwaway_database(args.server_url) as url:
        app = ChatAssistApp(env=eventsourcing_env(Settings(database_url=url, db_pool_size=2), url))
        recorder: Any = app.recorder
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(unchained_function(recorder))
        names = ["unchained", "chained"]
        statements = {
            "chained": recorder.append_statement,
            "unchained": sql.SQL("SELECT * FROM {0}.{1}(%s)").format(
                sql.Identifier(recorder.datastore.schema), sql.Identifier(UNCHAINED)
            ),
        }
        streams: dict[str, list[list[Any]]] = {name: [[uuid.uuid4(), 0] for _ in range(200)] for name in names}
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
            backend = schedstat(conn.info.backend_pid)
            n = 0
            while n < args.appends:
                for name in names:
                    for i in range(args.round):
                        stream = streams[name][(n + i) % 200]
                        events = []
                        for _ in range(3):
                            stream[1] += 1
                            events.append(
                                recorder.construct_pg_stored_event(stream[0], stream[1], "t:E", state.encode())
                            )
                        server = backend() if backend else 0
                        client = time.thread_time_ns()
                        started = time.perf_counter()
                        curs.execute(statements[name], (events,), prepare=True)
                        curs.fetchall()
                        times[name].append((time.perf_counter() - started) * 1e6)
                        spent = time.thread_time_ns() - client + ((backend() - server) if backend else 0)
                        cpu[name].append(spent / 1000)
                n += args.round
        verified = time_verify(app, url, args.verify_events) if args.verify_events else None
        app.close()
    report: dict[str, Any] = {"appends": args.appends, "events_per_append": 3, "verify": verified}
    for name, values in times.items():
        values, used = values[args.round :], cpu[name][args.round :]  # the first round warms up
        report[name] = {"mean_us": round(statistics.fmean(values)), "p50_us": round(statistics.median(values))}
        report[name] |= {"cpu_mean_us": round(statistics.fmean(used)), "cpu_p50_us": round(statistics.median(used))}
    for stat in ("p50", "mean", "cpu_p50", "cpu_mean"):
        added = report["chained"][f"{stat}_us"] / report["unchained"][f"{stat}_us"] - 1
        report[f"added_{stat}_pct"] = round(100 * added, 1)
    report["load_average_1min"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
