"""Benchmark: projection lag under a steady load of chat turns, from commit to visible in each view.

    .venv/bin/python -m bench.projection_lag --rate 300 --seconds 20 --writers 4

On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres): starts `chatassist projections run` (every projection, as threads of
one process; --runner-env KEY=VALUE adds to its environment, e.g. CHATASSIST_SWITCH_INTERVAL=0.0005) as its own
process, then --writers writer processes (spawned), each with its own ChatAssistApp (its own connection) and its own
visitors. They write chat turns through the command path (ReceiveMessage, then RecordReply with one model call and
the reply: 3 events in 2 transactions per turn; visitors of 5 turns) on one shared schedule: turn n is due at
start + n / --rate and belongs to writer n mod --writers. A writer that falls behind writes its turns back to back
(none is skipped); `behind_schedule` says by how much, `turn_latency` is a turn's own time (both commands).

A watcher polls every projection's tracking position every --poll-ms on one connection, timestamping each sample
when its answer has arrived. A turn is visible in a view when that view's tracked position reaches the turn's last
event among the view's topics (the view's rows and position commit together). The turn's last event is found
exactly after the run (its conversation and version, looked up in the store), not guessed from the head. Lag = the
first sample at or after the moment RecordReply's commit returned in the writer that sees it (so it includes up to
--poll-ms of polling error). Times are CLOCK_MONOTONIC (time.monotonic), which is system-wide on Linux, so they
compare across the processes.

--raw (a second measurement, of the runners alone): the writers append the same three events per turn in two
transactions straight through the event store's recorder (stored events encoded once, ahead of the schedule),
skipping the commands, the aggregates and the mapper. Its lag figures say what the runners do with the load; they
say nothing of the command path. Both modes append through the event store's table lock (one append transaction at
a time, held until its commit is flushed), so more writers do not raise the rate past what that allows.
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing as mp
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from chatassist.bootstrap import PROJECTIONS, bootstrap
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from commands.create_workspace import cmd as create_ws
from commands.receive_message import cmd as receive
from commands.record_reply import cmd as record
from domain.conversation import Conversation, ModelCall
from tests.support.services import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
WATCHED = [name for name in PROJECTIONS if name != "audit"]  # a chat turn writes no audit event
WRITER_POOL = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}  # one writer thread per process
TURNS_PER_VISITOR = 5


def tracking_tables() -> dict[str, str]:
    """The tracking table of each watched projection."""
    return {name: f"{PROJECTIONS[name][0].name.lower()}_tracking" for name in WATCHED}


def wait_for_runners(database_url: str, timeout: float = 120.0) -> None:
    """Until the runner process has created every watched tracking table."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relname = ANY(%s)", (list(tracking_tables().values()),)
            ).fetchone()
            if row and row[0] == len(WATCHED):
                return
            time.sleep(0.2)
    raise RuntimeError("the projection runners did not start")


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max of millisecond figures."""
    if not values:
        return {}
    return {f"p{p}_ms": round(pct(values, p), 1) for p in (50, 90, 99)} | {"max_ms": round(max(values), 1)}


class Watcher(threading.Thread):
    """Polls each projection's tracked position; keeps (time, position) samples per projection."""

    def __init__(self, database_url: str, app_name: str, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.url, self.app_name, self.poll_s = database_url, app_name, poll_s
        self.samples: dict[str, list[tuple[float, int]]] = {name: [] for name in WATCHED}
        self.stopping = threading.Event()

    def positions(self, conn: psycopg.Connection[Any]) -> dict[str, int]:
        """Every watched projection's tracked position, in one query."""
        query = " UNION ALL ".join(
            f"SELECT '{name}', (SELECT notification_id FROM {t} WHERE application_name = %(app)s)"
            for name, t in tracking_tables().items()
        )
        return {name: pos or 0 for name, pos in conn.execute(query.encode(), {"app": self.app_name})}

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                positions = self.positions(conn)
                now = time.monotonic()  # after the answer: a sample never claims to be older than it is
                for name, position in positions.items():
                    self.samples[name].append((now, position))
                time.sleep(self.poll_s)

    def caught_up(self, head: int, timeout: float = 60.0) -> None:
        """Until every watched projection's position is at ``head`` or past its last event before it."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                lasts = last_positions(conn, head)
                if all(pos >= lasts[name] for name, pos in self.positions(conn).items()):
                    return
                time.sleep(0.1)
        raise RuntimeError("the projections did not catch up with the warm-up")

    def seen_at(self, name: str, position: int, after: float) -> float | None:
        """The first sample time (not before ``after``) at which ``name`` had applied ``position``."""
        samples = self.samples[name]
        for at, pos in samples[bisect.bisect_left(samples, (after, -1)) :]:
            if pos >= position:
                return at
        return None


def last_positions(conn: psycopg.Connection[Any], head: int) -> dict[str, int]:
    """Per watched projection, its topics' last notification id at or before ``head``."""
    out = {}
    for name in WATCHED:
        row = conn.execute(
            "SELECT max(notification_id) FROM chatassist_events WHERE notification_id <= %s AND topic = ANY(%s)",
            (head, list(PROJECTIONS[name][0].topics)),
        ).fetchone()
        out[name] = (row[0] if row else None) or 0
    return out


def call_and_reply(n: int) -> tuple[ModelCall, record.Reply]:
    """The model call and the reply of turn ``n``."""
    call = ModelCall(f"c{n}", "anthropic", "claude-sonnet-4-6", 1, 1, 900, 60, 0, 0, 150.0, 600.0,
                     Decimal("0.0036"), "ok")  # fmt: skip
    reply = record.Reply(f"r{n}", "You will find it under Billing.", 0.9, "billing", "anthropic",
                         "claude-sonnet-4-6", 1)  # fmt: skip
    return call, reply


def asking(workspace_id: uuid.UUID, held: Conversation | None, n: int, visitor: str) -> receive.ReceiveMessage:
    """The visitor's message of turn ``n`` (to ``held``, else to a new conversation)."""
    return receive.ReceiveMessage(workspace_id, held.id if held else None, receive.EndUser(visitor),
                                  f"Question {n}: where is my invoice?")  # fmt: skip


def replying(conversation_id: uuid.UUID, message_id: str, n: int) -> record.RecordReply:
    """The outcome of turn ``n``: one model call and the reply."""
    call = ModelCall(f"c{n}", "anthropic", "claude-sonnet-4-6", 1, 1, 900, 60, 0, 0, 150.0, 600.0,
                     Decimal("0.0036"), "ok")  # fmt: skip
    reply = record.Reply(f"r{n}", "You will find it under Billing.", 0.9, "billing", "anthropic",
                         "claude-sonnet-4-6", 1)  # fmt: skip
    return record.RecordReply(conversation_id, message_id, [call], reply)


def turn(app: ChatAssistApp, workspace_id: uuid.UUID, held: Conversation | None, n: int, visitor: str) -> Conversation:
    """One chat turn through the commands (two transactions); returns the conversation as saved."""
    got = receive.execute(app, asking(workspace_id, held, n, visitor), held)
    return record.execute(app, replying(got.conversation_id, got.message_id, n), got.conversation)


class RawTurns:
    """--raw: each turn's events decided ahead of the schedule (the commands' pure ``handle`` functions), encoded,
    and appended with the recorder alone, in two transactions."""

    def __init__(self, app: ChatAssistApp, workspace_id: uuid.UUID, turns: list[tuple[int, str, bool]]) -> None:
        self.app, self.prepared = app, {}
        held: Conversation | None = None
        for n, visitor, new in turns:
            asked = asking(workspace_id, None if new else held, n, visitor)
            if held is None or new:
                held = receive.handle_new(asked, f"m{n}")
            else:
                receive.handle_existing(asked, held, f"m{n}")
            first = [app.mapper.to_stored_event(e) for e in held.collect_events()]
            record.handle(replying(held.id, f"m{n}", n), held)
            second = [app.mapper.to_stored_event(e) for e in held.collect_events()]
            self.prepared[n] = (first, second, held.id, held.version)

    def __call__(self, n: int) -> tuple[uuid.UUID, int]:
        first, second, conversation_id, version = self.prepared.pop(n)
        self.app.recorder.insert_events(first)
        self.app.recorder.insert_events(second)
        return conversation_id, version


def writer(k: int, writers: int, args: argparse.Namespace, env: dict[str, str], workspace_id: uuid.UUID,
           ready: Any, start: Any, results: Any) -> None:  # fmt: skip
    """One writer process: warm up, then write its share of the schedule; put its timings on ``results``."""
    app = ChatAssistApp(env={**env, **WRITER_POOL})
    total = int(args.rate * args.seconds)
    mine = [(n, f"w{k}v{j // TURNS_PER_VISITOR}", j % TURNS_PER_VISITOR == 0)
            for j, n in enumerate(range(k, total, writers))]  # fmt: skip
    held: Conversation | None = None
    for j in range(20):  # warm up (imports, prepared statements, caches)
        new = j % TURNS_PER_VISITOR == 0
        held = turn(app, workspace_id, None if new else held, -1 - 100 * k - j, f"w{k}warm{j // TURNS_PER_VISITOR}")
    raw = RawTurns(app, workspace_id, mine) if args.raw else None
    ready.put(k)
    start.wait()
    t0 = start.t0.value
    cpu = time.process_time()
    done = []
    held = None
    for n, visitor, new in mine:
        due = t0 + n / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began = time.monotonic()
        if raw is not None:
            conversation_id, version = raw(n)
        else:
            held = turn(app, workspace_id, None if new else held, n, visitor)
            conversation_id, version = held.id, held.version
        done.append((n, due, began, time.monotonic(), str(conversation_id), version))
    cpu = time.process_time() - cpu
    app.close()
    results.put((done, cpu))


class Start:
    """A start signal shared by the writer processes, carrying the schedule's time zero."""

    def __init__(self, ctx: Any) -> None:
        self.event, self.t0 = ctx.Event(), ctx.Value("d", 0.0)

    def go(self, t0: float) -> None:
        self.t0.value = t0
        self.event.set()

    def wait(self) -> None:
        self.event.wait()


def wait_for(answers: Any, procs: list[Any]) -> Any:
    """The next item on the ``answers`` queue of the writer processes; fails as soon as one of them has died."""
    while True:
        try:
            return answers.get(timeout=1)
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a writer process failed (exit codes {dead}); see its traceback above") from None


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds used so far by every living process named ``postgres`` on this machine (the
    server's backends; a backend that has exited is not counted, the writers' and runners' stay connected)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, fields = (entry / "stat").read_text().split(" (", 1)[1].split(")", 1)
            except (OSError, IndexError, ValueError):
                continue
            if name == "postgres":
                parts = fields.split()
                total += int(parts[11]) + int(parts[12])
    return total / os.sysconf("SC_CLK_TCK")


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds used so far by process ``root`` and its living descendants (from /proc)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime + stime
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        tree, grew = tree | more, bool(more)
    return sum(stats[pid][1] for pid in tree if pid in stats) / os.sysconf("SC_CLK_TCK")


def analyse(
    database_url: str, watcher: Watcher, done: list[tuple[Any, ...]], t0: float | None = None
) -> dict[str, object]:
    """Per watched projection: lag percentiles of the turns it saw, and how many it did not see; with ``t0``, also
    a timeline: per second of the run, the turns committed, how far behind schedule and the worst lag of any view."""
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT notification_id, topic, originator_id, originator_version FROM chatassist_events"
            " ORDER BY notification_id"
        ).fetchall()
    position_of = {(str(oid), version): nid for nid, _, oid, version in stored}
    ends = [(end, position_of[(cid, version)]) for _, _, _, end, cid, version in done]
    report: dict[str, object] = {}
    worst: dict[int, float] = {}
    for name in WATCHED:
        # a turn is visible in a view when the view has applied the turn's last event among its topics
        topics, last, mine = set(PROJECTIONS[name][0].topics), 0, {}
        for position, topic, _, _ in stored:
            if topic in topics:
                last = position
            mine[position] = last
        lags = [(seen - at) * 1000 for at, pos in ends if (seen := watcher.seen_at(name, mine[pos], at)) is not None]
        report[name] = {**summary(lags), "seen": len(lags), "not_seen": len(ends) - len(lags)}
        if t0 is not None:
            for at, pos in ends:
                if (seen := watcher.seen_at(name, mine[pos], at)) is not None:
                    second = int(at - t0)
                    worst[second] = max(worst.get(second, 0.0), (seen - at) * 1000)
    if t0 is not None:
        behind: dict[int, list[float]] = {}
        for _, due, _, end, _, _ in done:
            behind.setdefault(int(end - t0), []).append((end - due) * 1000)
        report["timeline"] = [
            {"second": k, "turns": len(v), "behind_max_ms": round(max(v)), "worst_lag_ms": round(worst.get(k, 0.0))}
            for k, v in sorted(behind.items())
        ]
    return report


def main() -> None:
    """Start the runners and the writers, write turns at the rate, report lag per projection as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0, help="chat turns per second, all writers together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=4, help="writer processes sharing the schedule")
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--raw", action="store_true", help="append events with the recorder, not the commands")
    parser.add_argument("--timeline", action="store_true", help="per second: turns, behind schedule, worst lag")
    parser.add_argument("--runner-env", action="append", default=[], metavar="KEY=VALUE", help="for the runners")
    parser.add_argument(
        "--writer-env", action="append", default=[], metavar="KEY=VALUE",
        help="for the writers' apps, e.g. APPLICATION_RECORDER_TOPIC=eventsourcing.postgres:PostgresApplicationRecorder"
        " (the library's two-round-trip append, to compare)",
    )  # fmt: skip
    args = parser.parse_args()
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    ctx = mp.get_context("spawn")
    with throwaway_database(server) as database_url:
        settings = Settings(database_url=database_url, redis_url=redis_url, data_dir="/tmp/ca-bench", db_pool_size=1)
        container = bootstrap(settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
        env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, CHATASSIST_LOG_LEVEL="WARNING")
        env.update(pair.split("=", 1) for pair in args.runner_env)
        command = [sys.executable, "-m", "chatassist.cli", "projections", "run"]
        runners = subprocess.Popen(command, cwd=ROOT, env=env)
        watcher = Watcher(database_url, container.app.name, args.poll_ms / 1000)
        procs: list[Any] = []
        try:
            ws = create_ws.execute(container.app, create_ws.CreateWorkspace("Lag Inc")).workspace_id
            wait_for_runners(database_url)
            ready, results, start = ctx.Queue(), ctx.Queue(), Start(ctx)
            writer_env = {**container.es_env, **dict(pair.split("=", 1) for pair in args.writer_env)}
            for k in range(args.writers):
                procs.append(ctx.Process(target=writer, args=(k, args.writers, args, writer_env, ws, ready,
                                                              start, results), daemon=True))  # fmt: skip
                procs[-1].start()
            for _ in procs:
                wait_for(ready, procs)
            watcher.caught_up(container.app.recorder.max_notification_id() or 0)
            watcher.start()
            load_before, cpu_before = os.getloadavg()[0], cpu_seconds(runners.pid)
            server_before = postgres_cpu_seconds()
            t0 = time.monotonic() + 0.2
            start.go(t0)
            pids = " ".join(str(p.pid) for p in procs)
            print(
                f"writing at {args.rate:g} turns/s: writers {pids}, runners {runners.pid}", file=sys.stderr, flush=True
            )
            answers = [wait_for(results, procs) for _ in procs]
            done = sorted(turn for turns, _ in answers for turn in turns)
            elapsed = max(end for _, _, _, end, _, _ in done) - t0
            runner_cpu = cpu_seconds(runners.pid) - cpu_before
            writer_cpu, server_cpu = sum(cpu for _, cpu in answers), postgres_cpu_seconds() - server_before
            time.sleep(2)
            watcher.stopping.set()
            watcher.join()
            report: dict[str, object] = {
                "mode": "raw appends (runners alone)" if args.raw else "command path",
                "writers": args.writers,
                "runner_env": args.runner_env,
                "turns": len(done),
                "asked_turns_per_s": args.rate,
                "achieved_turns_per_s": round(len(done) / elapsed, 1),
                "turn_latency": summary([(end - began) * 1000 for _, _, began, end, _, _ in done]),
                "behind_schedule": summary([(end - due) * 1000 for _, due, _, end, _, _ in done]),
                "runner_cpu_cores": round(runner_cpu / elapsed, 2),
                "runner_cpu_ms_per_turn": round(runner_cpu / len(done) * 1000, 1),
                "writers_cpu_cores": round(writer_cpu / elapsed, 2),
                "writers_cpu_ms_per_turn": round(writer_cpu / len(done) * 1000, 2),
                "postgres_cpu_cores": round(server_cpu / elapsed, 2),
                "load_average_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
            }
            analysed = analyse(database_url, watcher, done, t0 if args.timeline else None)
            print(json.dumps(report | analysed, indent=2), flush=True)
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            runners.send_signal(signal.SIGINT)
            runners.wait(15)
            container.close()


if __name__ == "__main__":
    main()
