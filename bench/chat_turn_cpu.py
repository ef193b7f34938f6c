"""Benchmark: CPU per chat turn of each process a turn loads (web, `projections run`, PostgreSQL), at c=1 and c=20.

    .venv/bin/python -m bench.chat_turn_cpu --sequential 150 --turns 600
    .venv/bin/python -m bench.chat_turn_cpu --web-prefix ".venv/bin/python -m bench.chat_turn_spans"  # phases
    .venv/bin/python -m bench.chat_turn_cpu --profile /tmp/c20.txt      # py-spy --gil of the web process at c=20
    .venv/bin/python -m bench.chat_turn_cpu --pg-log                    # every statement's duration in the log

On this shared 2-core machine the whole-turn wall figures move with the neighbours' load; CPU seconds per turn
(``/proc/<pid>/stat``, all threads) of each process are steadier, and they show what a turn costs the box: on
2 cores, web + projections + PostgreSQL CPU per turn bounds the turns per second. Starts what ``bench.chat_turns``
starts (the instant fake Anthropic upstream, one ``chatassist web``, ``chatassist projections run``, a throwaway
database, limits off), warms up with 200 turns, then runs ``--sequential`` turns one at a time and ``--turns`` turns
from 20 visitors (5 turns a conversation), and prints JSON: added latency at c=1 (minus the direct SDK call's),
turns/s at c=20, and CPU ms per turn of ``web``, ``proj`` and ``pg`` (the backends connected to the bench's
database) in each run. ``--pg-log`` sets ``log_min_duration_statement = 0`` on the throwaway database only (read
the server's log for its backends' pids, printed as ``PIDS``). py-spy is not a dependency: ``.venv/bin/pip install
py-spy`` first for ``--profile``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import psycopg

from bench import chat_turns as b
from tests.support.services import throwaway_database


def backends(url: str) -> dict[int, str]:
    """pid -> application name of the PostgreSQL sessions on the bench's database (not this one)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return {int(pid): str(name) for pid, name in rows}


def cpu(pids: list[int]) -> float:
    """CPU seconds of ``pids`` (gone ones count 0)."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += b.cpu_s(pid)
    return total


def spy(pid: int, out: str, gil: bool) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid`` into ``out`` (raw collapsed stacks) until interrupted."""
    exe = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or "py-spy"
    args = [exe, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", out, "-d", "600", "--nonblocking"]
    idle = ["--idle"] if os.environ.get("SPY_IDLE") else []  # SPY_IDLE=1: idle samples too (where the wall time goes)
    proc = subprocess.Popen(
        [*args, *(["--gil"] if gil else []), *idle], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1)
    return proc


def per_turn(before: dict[str, float], after: dict[str, float], turns: int) -> dict[str, float]:
    """CPU ms per turn of each process group."""
    return {k: round((after[k] - before[k]) / turns * 1000, 2) for k in before}


def main() -> None:
    """Run and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequential", type=int, default=150)
    parser.add_argument("--turns", type=int, default=600, help="turns of the c=20 run")
    parser.add_argument("--web-prefix", default="", help="prepended to the web command (e.g. the spans wrapper)")
    parser.add_argument("--profile", default="", help="py-spy --gil raw profile of the web process at c=20")
    parser.add_argument("--profile-c1", default="", help="py-spy raw profile (all samples) of the web process at c=1")
    parser.add_argument("--pg-log", action="store_true", help="log every statement of the bench's database")
    args = parser.parse_args()
    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    fake_port, web_port = b.free_port(), b.free_port()
    with throwaway_database(server_url) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
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
        env.pop("OPENAI_API_KEY", None)
        if args.pg_log:
            with psycopg.connect(url, autocommit=True) as conn:
                name = conn.execute("SELECT current_database()").fetchone()
                assert name is not None
                conn.execute(f'ALTER DATABASE "{name[0]}" SET log_min_duration_statement = 0')
        cli = [sys.executable, "-m", "chatassist.cli"]
        subprocess.run([*cli, "migrate"], env=env, cwd=b.ROOT, check=True, capture_output=True)
        created = subprocess.run(
            [*cli, "workspaces", "create", "Bench", "--json", "--set", "monthly_token_budget=0"],
            env=env,
            cwd=b.ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(created.stdout.strip().splitlines()[-1])["widget_key"]
        with (
            b.process([sys.executable, "-m", "bench.fake_upstream", "--port", str(fake_port)], env, "ready"),
            b.process([*args.web_prefix.split(), *cli, "web", "--port", str(web_port)], env) as web,
            b.process([*cli, "projections", "run"], env) as runner,
        ):
            base = f"http://127.0.0.1:{web_port}"
            asyncio.run(b.wait_http(base + "/ready"))
            asyncio.run(b.load(base, key, 200, 8, 5))  # warm up
            b.wait_for_projections(url)
            time.sleep(1)
            sessions = backends(url)
            print("PIDS", json.dumps(sessions), flush=True)
            groups = {"web": [web.pid], "proj": [runner.pid], "pg": list(sessions)}
            direct, direct_first = asyncio.run(b.direct_timed(f"http://127.0.0.1:{fake_port}", args.sequential))
            before = {k: cpu(v) for k, v in groups.items()}
            profiler = spy(web.pid, args.profile_c1, gil=False) if args.profile_c1 else None
            window_c1 = [time.time()]
            seq, first = asyncio.run(b.sequential_timed(base, key, args.sequential, 5))
            window_c1.append(time.time())
            if profiler is not None:
                profiler.send_signal(2)
                profiler.wait()
            c1 = per_turn(before, {k: cpu(v) for k, v in groups.items()}, len(seq))
            b.wait_for_projections(url)
            groups["pg"] = list(backends(url))
            before = {k: cpu(v) for k, v in groups.items()}
            profiler = spy(web.pid, args.profile, gil=True) if args.profile else None
            window_c20 = [time.time()]
            c20, wall = asyncio.run(b.load(base, key, args.turns, 20, 5))
            window_c20.append(time.time())
            if profiler is not None:
                profiler.send_signal(2)
                profiler.wait()
            at20 = per_turn(before, {k: cpu(v) for k, v in groups.items()}, len(c20))
            b.wait_for_projections(url)
    ms = lambda s: round(s * 1000, 2)  # noqa: E731
    print(
        json.dumps(
            {
                "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                "direct_p50_ms": ms(b.pct(direct, 50)),
                "added_c1_ms": {
                    "p50": ms(b.pct(seq, 50) - b.pct(direct, 50)),
                    "p99": ms(b.pct(seq, 99) - b.pct(direct, 99)),
                },
                "first_token_added_p50_ms": ms(b.pct(first, 50) - b.pct(direct_first, 50)),
                "cpu_ms_per_turn_c1": c1,
                "turns_per_s_c20": round(len(c20) / wall, 1),
                "cpu_ms_per_turn_c20": at20,
                "windows": {"c1": window_c1, "c20": window_c20},  # epoch seconds, to cut logs and spans
            }
        )
    )


if __name__ == "__main__":
    main()
