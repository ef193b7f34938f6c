"""Measurement: PostgreSQL sessions held by each process kind at rest and under chat load (docs/operations.md).

    .venv/bin/python -m bench.connections --turns 2000 --concurrency 32

Starts, as separate processes on a throwaway database (CHATASSIST_TEST_DATABASE_URL's server, default
postgresql://postgres@127.0.0.1:5432/postgres; Redis in CHATASSIST_TEST_REDIS_URL): the instant fake upstream,
`chatassist web`, `chatassist worker` (projections, the integrations follower, actors) and `chatassist scheduler`,
then `chatassist up` alone on a second database. Samples pg_stat_activity every 0.1 s and attributes each session to
its process by the pid in its application_name (`chatassist <kind> pid N`, `chatassist projection runners pid N`,
`chatassist projection pages pid N`).
Reports each process's sessions at rest (after start, and again after the load) and the peak during the load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.chat_turns import ROOT, free_port, load, process, wait_http
from tests.support.services import throwaway_database

PID = re.compile(r"\bpid (\d+)\b")


def sessions(server_url: str, database: str) -> Counter[int]:
    """Sessions on ``database`` per client process (the pid named in application_name; 0: unnamed)."""
    with psycopg.connect(make_conninfo(server_url, dbname="postgres")) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return Counter(int(m.group(1)) if (m := PID.search(name or "")) else 0 for (name,) in rows)


class Sampler:
    """Samples the sessions per process in a thread; ``peak``: the most seen per process."""

    def __init__(self, server_url: str, database: str) -> None:
        self.server_url, self.database = server_url, database
        self.peak: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, n in sessions(self.server_url, self.database).items():
                self.peak[pid] = max(self.peak[pid], n)
            self._stop.wait(0.1)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def at_rest(server_url: str, database: str, quiet_s: float = 5.0) -> Counter[int]:
    """The per-process counts once they have not changed for ``quiet_s``."""
    last, since = sessions(server_url, database), time.monotonic()
    deadline = since + 120
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sessions(server_url, database)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return last


def setup(env: dict[str, str]) -> str:
    """Migrate and create the benchmark's workspace; its widget key."""
    cli = [sys.executable, "-m", "chatassist.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run(
        [*cli, "workspaces", "create", "Bench", "--json", "--set", "monthly_token_budget=0"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return str(json.loads(created.stdout.strip().splitlines()[-1])["widget_key"])


def measure(
    server_url: str, env: dict[str, str], kinds: dict[str, list[str]], web_port: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Start ``kinds`` (name -> CLI arguments), load the web, report per kind."""
    database = str(conninfo_to_dict(env["DATABASE_URL"])["dbname"])
    key = setup(env)
    cli = [sys.executable, "-m", "chatassist.cli"]
    procs: dict[str, subprocess.Popen[str]] = {}
    stack = [process([*cli, *argv], env) for argv in kinds.values()]
    for name, ctx in zip(kinds, stack, strict=True):
        procs[name] = ctx.__enter__()
    try:
        base = f"http://127.0.0.1:{web_port}"
        asyncio.run(wait_http(base + "/ready"))
        asyncio.run(load(base, key, 50, 4, 5))  # every code path once
        rest_before = at_rest(server_url, database)
        with Sampler(server_url, database) as sampler:
            loaded, wall = asyncio.run(load(base, key, args.turns, args.concurrency, 5))
        rest_after = at_rest(server_url, database)
    finally:
        for ctx in reversed(stack):
            ctx.__exit__(None, None, None)
    report: dict[str, Any] = {}
    for name, proc in procs.items():
        report[name] = {
            "at_rest": rest_before[proc.pid],
            "peak_under_load": sampler.peak[proc.pid],
            "at_rest_after_load": rest_after[proc.pid],
        }
    report["unattributed_peak"] = sampler.peak[0]
    report["load"] = {"turns": len(loaded), "concurrency": args.concurrency, "turns_per_s": round(len(loaded) / wall)}
    return report


def main() -> None:
    """Run the measurement and print a report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    fake_port = free_port()
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "OPENAI_", "ANTHROPIC_"))},
        "REDIS_URL": redis_url,
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_port}",
        "CHATASSIST_LOG_LEVEL": "WARNING",
        "CHATASSIST_SECRET_KEY": secrets.token_urlsafe(32),
        "CHATASSIST_RATE_CHAT_PER_USER": "0",
        "CHATASSIST_RATE_CHAT_PER_IP": "0",
        "CHATASSIST_RATE_NEW_CONVERSATIONS_PER_IP": "0",
        "CHATASSIST_RATE_NEW_CONVERSATIONS_PER_WORKSPACE": "0",
        "CHATASSIST_RATE_TOKENS_PER_IP": "0",
    }
    out: dict[str, Any] = {}
    with process([sys.executable, "-m", "bench.fake_upstream", "--port", str(fake_port)], base_env, "ready"):
        with throwaway_database(server_url) as database_url:
            port = free_port()
            kinds = {"web": ["web", "--port", str(port)], "worker": ["worker"], "scheduler": ["scheduler"]}
            out["separate processes"] = measure(
                server_url, {**base_env, "DATABASE_URL": database_url}, kinds, port, args
            )
        with throwaway_database(server_url) as database_url:
            port = free_port()
            env = {**base_env, "DATABASE_URL": database_url, "CHATASSIST_DATA_DIR": f"/tmp/bench-connections-{port}"}
            out["up"] = measure(server_url, env, {"up": ["up", "--port", str(port)]}, port, args)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
