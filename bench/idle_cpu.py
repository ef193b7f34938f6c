"""Benchmark: the CPU an idle `chatassist up` costs, its own process and its PostgreSQL backends (target: under 2 %
of one core in all, on the 1,000,000-event store; issue 20).

    .venv/bin/python -m bench.idle_cpu --database-url postgresql://postgres@127.0.0.1:5432/chatassist_bench

Starts `chatassist up` on the given store (kept; bring every view to its head first, or the first minutes are
the catch-up), with REDIS_URL from CHATASSIST_TEST_REDIS_URL (no embedded servers), waits for /ready and then
``--settle`` seconds (start-up work: the followers' first read, the classifiers' training), then samples for
``--seconds``: the CPU time of the `up` process and its threads, and of each PostgreSQL backend connected from it
(found by its client ports in pg_stat_activity), as a share of one core. With ``--pgoptions`` its sessions get
those PostgreSQL options (e.g. ``-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=1``
to log the plan of each statement it runs while idle).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
import psutil
import psycopg

from bench.chat_turns import ROOT, free_port


def backends(server_url: str, ports: set[int]) -> list[psutil.Process]:
    """The PostgreSQL backends whose client is one of ``ports`` on this machine."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        rows = conn.execute("SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL").fetchall()
    found = []
    for pid, port in rows:
        if port in ports:
            with contextlib.suppress(psutil.NoSuchProcess):
                found.append(psutil.Process(pid))
    return found


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """user + system CPU seconds of ``procs`` (0 for one that ended)."""
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def sample(up: psutil.Process, server_url: str, seconds: float) -> dict[str, Any]:
    """Shares of one core over ``seconds``: the process, its backends (those connected at the start and end)."""
    server_port = int(psycopg.conninfo.conninfo_to_dict(server_url).get("port") or 5432)
    ports = {c.laddr.port for c in up.net_connections(kind="inet") if c.raddr and c.raddr.port == server_port}
    pg = backends(server_url, ports)
    began, own0, pg0 = time.monotonic(), cpu_seconds([up]), {p.pid: cpu_seconds([p]) for p in pg}
    time.sleep(seconds)
    elapsed = time.monotonic() - began
    own = (cpu_seconds([up]) - own0) / elapsed
    pg_share = sum(cpu_seconds([p]) - pg0[p.pid] for p in pg) / elapsed
    return {
        "seconds": round(elapsed, 1),
        "up_process_pct": round(own * 100, 2),
        "postgres_backends_pct": round(pg_share * 100, 2),
        "total_pct": round((own + pg_share) * 100, 2),
        "backends": len(pg),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    """Start `up`, let it settle, sample, print the JSON report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", required=True, help="the store (kept)")
    p.add_argument("--settle", type=float, default=60.0, help="seconds after /ready before sampling")
    p.add_argument("--seconds", type=float, default=60.0, help="sampling window")
    p.add_argument("--rounds", type=int, default=3, help="sampling windows, one after the other")
    p.add_argument("--pgoptions", default="", help="PGOPTIONS for the process's sessions")
    p.add_argument("--code", default=str(ROOT), help="run `up` from this checkout (e.g. an earlier commit's)")
    args = p.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CHATASSIST_SECRET_KEY": secrets.token_urlsafe(32),
            "CHATASSIST_DATA_DIR": data,
            "CHATASSIST_LOG_LEVEL": "WARNING",
            "CHATASSIST_METRICS_PORT": "0",
            **({"PGOPTIONS": args.pgoptions} if args.pgoptions else {}),
        }
        up_cmd = [sys.executable, "-m", "chatassist.cli", "up", "--port", str(port)]
        proc = subprocess.Popen(up_cmd, env=env, cwd=args.code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("chatassist up did not become ready")
                time.sleep(0.5)
            print(f"ready; settling {args.settle:.0f} s", file=sys.stderr, flush=True)
            time.sleep(args.settle)
            up = psutil.Process(proc.pid)
            rounds = []
            for _ in range(args.rounds):
                rounds.append(sample(up, args.database_url, args.seconds))
                print(json.dumps(rounds[-1]), file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(json.dumps({"database_url": args.database_url, "rounds": rounds}, indent=2))


if __name__ == "__main__":
    main()
