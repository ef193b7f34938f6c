"""Benchmark: every dashboard endpoint over HTTP with a large event store (target: p99 under 20 ms).

    .venv/bin/python -m bench.dashboards --events 1000000 --workspaces 10
    .venv/bin/python -m bench.dashboards --database-url URL --skip-generate   # measure an already filled store

1. Generate (unless --skip-generate): on a throwaway database of the PostgreSQL server in
   CHATASSIST_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres), sign up --workspaces
   workspaces, then write conversations into them with `chatassist seed`'s bulk mode (the same decisions as the
   command path, 200 conversations per transaction, historical timestamps over 60 days) until the store holds
   --events events.
2. Catch up: `chatassist projections rebuild analytics` (the view every dashboard reads) fills fresh tables from
   every event in pages of --page events and swaps them in; then the live runner is started and must already be
   at the head.
3. Measure: `chatassist web` in its own process; a signed-in admin of the first workspace calls each endpoint
   --warmup times, then --requests times one after the other; p50 / p99 / max per endpoint (and of
   /api/auth/me, which has the same session check and no analytics query: the framework's share).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import psycopg

from bench.chat_turns import free_port, pct, process, wait_http
from chatassist.bootstrap import Container, bootstrap
from chatassist.rebuild import rebuild
from chatassist.seed import SeedPlan, seed
from chatassist.settings import Settings
from commands._common import account_for_email
from commands.sign_up import cmd as sign_up
from read_api.get_activity.query import get_activity
from read_api.get_audit_log.query import audit_filter, get_audit_log
from read_api.get_monitor.query import get_monitor, monitor_filter
from read_api.get_overview.query import get_overview
from read_api.get_performance.query import get_performance_between
from read_api.get_topics.query import get_topics_between
from read_api.get_usage.query import get_usage_between
from tests.support.services import throwaway_database

PASSWORD = "bench-Dashboards-2026"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ENDPOINTS = [
    ("overview", {}),
    ("activity", {}),
    ("activity", {"filter": "escalated"}),
    ("usage", {}),
    ("topics", {}),
    ("prompt-versions", {}),
    ("models", {}),
    ("usage", {"days": 60}),
    ("/api/monitor", {"view": "active"}),
    ("/api/monitor", {"view": "queue"}),
    ("/api/monitor", {"view": "closed"}),
    ("/api/audit", {}),
]
VIEWS = ("analytics", "monitor", "audit")  # the projections the measured endpoints read


def store_size(container: Container) -> int:
    """Events in the store."""
    return container.app.recorder.max_notification_id() or 0


def generate(container: Container, events: int, workspaces: int) -> tuple[list[str], float]:
    """Sign up the workspaces' admins and seed them in turn until the store holds ``events``; returns the admins'
    emails and the seconds it took."""
    began = time.perf_counter()
    emails, ids = [], []
    for n in range(workspaces):
        email = f"bench-admin-{n}-{os.urandom(3).hex()}@example.com"
        up = sign_up.execute(container.app, sign_up.SignUp(email, PASSWORD, "Bench Admin", f"Bench {n}"))
        emails.append(email)
        ids.append(up.workspace_id)
    round_ = 0
    while (size := store_size(container)) < events:
        per = max(50, min(5000, (events - size) // (7 * workspaces) + 1))
        for workspace_id in ids:
            plan = SeedPlan(per, days=60, workspace_id=workspace_id, random_seed=round_, bulk=True)
            seed(container.app, plan)
            round_ += 1
        print(f"  {store_size(container):,} events after {time.perf_counter() - began:.0f} s", flush=True)
    return emails, time.perf_counter() - began


def catch_up(container: Container, page: int) -> dict[str, dict[str, float]]:
    """Bring the measured views to the head as an operator would after a bulk load: `chatassist projections
    rebuild NAME` for each (fresh tables filled in pages of ``page`` events, then swapped in)."""
    out = {}
    for name in VIEWS:
        result = rebuild(container, name, batch=page, stream=sys.stdout)
        out[name] = {"events": result.events, "seconds": round(result.seconds, 1), "per_s": round(result.events_per_s)}
    return out


def measure(base: str, email: str, warmup: int, requests: int) -> dict[str, dict[str, float]]:
    """p50 / p99 / max milliseconds of each endpoint, one request at a time over a kept-alive connection."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for name, extra in [("../auth/me", {}), *ENDPOINTS]:  # auth/me: the same session check, no analytics
            params = dict(extra)
            label = name + "".join(f" {k}={v}" for k, v in params.items())
            if "days" in params:
                params = {"from": _days_ago(int(params.pop("days")) - 1)}
            samples = []
            for n in range(warmup + requests):
                t0 = time.perf_counter()
                path = name if name.startswith("/") else f"/api/analytics/{name}"
                response = client.get(path, params=params, headers=headers)
                elapsed = (time.perf_counter() - t0) * 1000
                response.raise_for_status()
                if n >= warmup:
                    samples.append(elapsed)
            out[label] = {
                "p50_ms": round(statistics.median(samples), 2),
                "p99_ms": round(pct(samples, 99), 2),
                "max_ms": round(max(samples), 2),
            }
            print(f"  {label:<28} p50 {out[label]['p50_ms']:6.2f} ms  p99 {out[label]['p99_ms']:6.2f} ms", flush=True)
        body = client.get("/api/analytics/usage", headers=headers).json()
        print(f"  (workspace 1, last 30 days: {body['conversations']:,} conversations, {body['model_calls']:,} calls)")
    return out


def measure_queries(container: Container, email: str, requests: int) -> dict[str, dict[str, float]]:
    """The same figures computed in this process straight from the views (no HTTP, no session): the database's
    and the query code's share. Any view on the database can run any of the queries: the analytics one does."""
    account = account_for_email(container.app, email)
    assert account is not None and container.analytics is not None
    ws, view = account.workspace_ids[0], container.analytics
    calls: dict[str, Callable[[], object]] = {
        "overview": lambda: get_overview(view, ws),
        "activity": lambda: get_activity(view, ws),
        "usage": lambda: get_usage_between(view, ws, None, None),
        "topics": lambda: get_topics_between(view, ws, None, None),
        "prompt-versions": lambda: get_performance_between(view, ws, "prompt_version", None, None),
        "models": lambda: get_performance_between(view, ws, "model", None, None),
        "usage days=60": lambda: get_usage_between(view, ws, _days_ago(59), None),
        **{f"monitor {v}": partial(get_monitor, view, ws, monitor_filter(v)) for v in ("active", "queue", "closed")},
        "audit": lambda: get_audit_log(view, ws, audit_filter(None, None, None, None, None)),
    }
    out = {}
    for name, fn in calls.items():
        samples = []
        for n in range(requests + 10):
            t0 = time.perf_counter()
            fn()
            if n >= 10:
                samples.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50_ms": round(statistics.median(samples), 2), "p99_ms": round(pct(samples, 99), 2)}
        print(f"  {name:<28} p50 {out[name]['p50_ms']:6.2f} ms  p99 {out[name]['p99_ms']:6.2f} ms", flush=True)
    return out


def _days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    """Generate, catch up and measure against ``database_url``."""
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = Settings(database_url=database_url, redis_url=redis_url, secret_key=SECRET)
    container = bootstrap(settings)
    report: dict[str, Any] = {"database_url": database_url, "load_average_at_start": os.getloadavg()}
    try:
        if not args.skip_generate:
            print(f"generating {args.events:,} events into {args.workspaces} workspaces", flush=True)
            emails, seconds = generate(container, args.events, args.workspaces)
            report["generate_seconds"] = round(seconds, 1)
            report["admin_email"] = emails[0]
        else:
            report["admin_email"] = args.admin_email
        report["events"] = store_size(container)
        if not args.skip_catch_up:
            print(f"catching up {', '.join(VIEWS)} on {report['events']:,} events", flush=True)
            report["catch_up"] = catch_up(container, args.page)
        container.start_projections(list(VIEWS))
        container.wait_for_projections(timeout=60)
        with psycopg.connect(database_url, autocommit=True) as conn:  # as autovacuum would after a bulk load
            conn.execute("VACUUM ANALYZE")
        print("measuring the queries in process", flush=True)
        report["queries_in_process"] = measure_queries(container, report["admin_email"], args.requests)
    finally:
        container.close()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CHATASSIST_SECRET_KEY": SECRET,
        "CHATASSIST_RATE_API_PER_USER": "1000000/60",
    }
    web = [sys.executable, "-m", "chatassist.cli", "web", "--host", "127.0.0.1", "--port", str(port)]
    with process(web, env):
        asyncio.run(wait_http(f"http://127.0.0.1:{port}/health"))
        print(f"measuring (warm-up {args.warmup}, {args.requests} requests each)", flush=True)
        report["endpoints"] = measure(f"http://127.0.0.1:{port}", report["admin_email"], args.warmup, args.requests)
    report["load_average_at_end"] = os.getloadavg()  # the machine's share in the figures (2 cores here)
    return report


def main() -> None:
    """Parse the flags, run, print the JSON report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000, help="store size to generate (default 1,000,000)")
    p.add_argument("--workspaces", type=int, default=10, help="spread the conversations over this many")
    p.add_argument("--page", type=int, default=5000, help="events per rebuild page")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--database-url", help="an existing database (kept); default: a throwaway one")
    p.add_argument("--skip-generate", action="store_true", help="measure the store as it is (needs --admin-email)")
    p.add_argument("--skip-catch-up", action="store_true", help="the views are already near the head (a re-run)")
    p.add_argument("--admin-email", help="with --skip-generate: an admin of the workspace to measure")
    args = p.parse_args()
    if args.database_url:
        report = run(args, args.database_url)
    else:
        server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        with throwaway_database(server) as url:
            report = run(args, url)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
