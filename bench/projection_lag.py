"""Benchmark: projection lag under a steady load of chat turns, from commit to visible in each view.

    .venv/bin/python -m bench.projection_lag --rate 300 --seconds 20

On a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres): starts `chatassist projections run` (every projection) as its own
process, then writes chat turns at --rate per second through the command path (ReceiveMessage, then RecordReply with
one model call and the reply: 3 events in 2 transactions per turn; visitors of 5 turns), paced on a fixed schedule.
A watcher polls every projection's tracking position every --poll-ms on one connection; a turn is visible in a view
when that view's tracked position reaches the turn's last event among its topics (rows and position commit
together). Lag = first
poll that sees it minus the time RecordReply returned (so it includes up to --poll-ms of polling error).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
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
from commands.create_workspace import cmd as create_ws
from commands.receive_message import cmd as receive
from commands.record_reply import cmd as record
from domain.conversation import Conversation, ModelCall
from tests.support.services import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
WATCHED = [name for name in PROJECTIONS if name != "audit"]  # a chat turn writes no audit event


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


class Watcher(threading.Thread):
    """Polls each projection's tracked position; keeps (time, position) samples per projection."""

    def __init__(self, database_url: str, app_name: str, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.url, self.app_name, self.poll_s = database_url, app_name, poll_s
        self.samples: dict[str, list[tuple[float, int]]] = {name: [] for name in WATCHED}
        self.stopping = threading.Event()

    def run(self) -> None:
        tables = tracking_tables()
        query = " UNION ALL ".join(
            f"SELECT '{name}', (SELECT notification_id FROM {t} WHERE application_name = %(app)s)"
            for name, t in tables.items()
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stopping.is_set():
                now = time.monotonic()
                for name, position in conn.execute(query.encode(), {"app": self.app_name}):
                    self.samples[name].append((now, position or 0))
                time.sleep(self.poll_s)

    def seen_at(self, name: str, position: int, after: float) -> float | None:
        """The first sample time (not before ``after``) at which ``name`` had applied ``position``."""
        samples = self.samples[name]
        for at, pos in samples[bisect.bisect_left(samples, (after, -1)) :]:
            if pos >= position:
                return at
        return None


def turn(app: Any, workspace_id: uuid.UUID, held: Conversation | None, n: int) -> tuple[Conversation, int]:
    """One chat turn through the commands; returns the conversation as saved and the position of its last event."""
    asked = receive.ReceiveMessage(workspace_id, held.id if held else None, receive.EndUser(f"v{n // 5}"),
                                   f"Question {n}: where is my invoice?")  # fmt: skip
    got = receive.execute(app, asked, held)
    call = ModelCall(f"c{n}", "anthropic", "claude-sonnet-4-6", 1, 1, 900, 60, 0, 0, 150.0, 600.0,
                     Decimal("0.0036"), "ok")  # fmt: skip
    reply = record.Reply(f"r{n}", "You will find it under Billing.", 0.9, "billing", "anthropic",
                         "claude-sonnet-4-6", 1)  # fmt: skip
    replied = record.RecordReply(got.conversation_id, got.message_id, [call], reply)
    saved = record.execute(app, replied, got.conversation)
    return saved, app.recorder.max_notification_id()


def main() -> None:
    """Start the runners, write turns at the rate, report lag per projection as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=300.0, help="chat turns per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    args = parser.parse_args()
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    with throwaway_database(server) as database_url:
        container = bootstrap(Settings(database_url=database_url, redis_url=redis_url, data_dir="/tmp/ca-bench"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
        env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, CHATASSIST_LOG_LEVEL="WARNING")
        runners = subprocess.Popen([sys.executable, "-m", "chatassist.cli", "projections", "run"], cwd=ROOT, env=env)
        watcher = Watcher(database_url, container.app.name, args.poll_ms / 1000)
        try:
            ws = create_ws.execute(container.app, create_ws.CreateWorkspace("Lag Inc")).workspace_id
            wait_for_runners(database_url)
            for n in range(50):  # warm up (imports, prepared statements, caches)
                turn(container.app, ws, None, -n - 1)
            time.sleep(3)
            watcher.start()
            total = int(args.rate * args.seconds)
            done: list[tuple[float, int]] = []
            conversation: Conversation | None = None
            started = time.monotonic()
            for n in range(total):
                delay = started + n / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                conversation, position = turn(container.app, ws, None if n % 5 == 0 else conversation, n)
                done.append((time.monotonic(), position))
            elapsed = time.monotonic() - started
            time.sleep(2)
            watcher.stopping.set()
            watcher.join()
            report: dict[str, object] = {"turns": total, "achieved_turns_per_s": round(total / elapsed, 1)}
            with psycopg.connect(database_url) as conn:
                stored = conn.execute(
                    f"SELECT notification_id, topic FROM {container.app.recorder.events_table_name}"
                    " ORDER BY notification_id".encode()
                ).fetchall()
            for name in WATCHED:
                # a turn is visible in a view when the view has applied the turn's last event among its topics
                topics, last, mine = set(PROJECTIONS[name][0].topics), 0, {}
                for position, topic in stored:
                    if topic in topics:
                        last = position
                    mine[position] = last
                lags = [
                    (seen - at) * 1000 for at, pos in done if (seen := watcher.seen_at(name, mine[pos], at)) is not None
                ]
                missing = len(done) - len(lags)
                report[name] = {
                    "p50_ms": round(pct(lags, 50), 1),
                    "p99_ms": round(pct(lags, 99), 1),
                    "max_ms": round(max(lags), 1),
                    "not_seen": missing,
                }
            print(json.dumps(report, indent=2))
        finally:
            runners.send_signal(signal.SIGINT)
            runners.wait(15)
            container.close()


if __name__ == "__main__":
    main()
