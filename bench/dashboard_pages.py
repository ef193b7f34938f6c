"""Benchmark: the dashboard's pages over HTTP (targets: each page's first HTML p99 under 50 ms; the overview with
its assets under 300 KB transferred).

    .venv/bin/python -m bench.dashboard_pages --events 200000 --workspaces 2
    .venv/bin/python -m bench.dashboard_pages --database-url URL --skip-generate --admin-email EMAIL

Generates a store as bench/dashboards.py does (sign-ups, then `chatassist seed`'s bulk mode over 60 days; by
default 2 workspaces of ~100,000 events each: the per-workspace volume of that benchmark's 1,000,000 events over
10 workspaces, which is what the per-workspace index scans see), brings the views to the head, starts
`chatassist web` in its own process, signs in an admin of the first workspace with the session cookie (as the
browser does) and requests each page --warmup times then --requests times one after the other: p50 / p99 / max
of the time to the complete HTML response. Then it loads the overview as a browser's first visit would (the HTML
and every stylesheet and script it names) and adds up the bytes transferred.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from typing import Any

import httpx
import psycopg

from bench.chat_turns import free_port, pct, process, wait_http
from bench.dashboards import PASSWORD, SECRET, VIEWS, generate, store_size
from chatassist.bootstrap import Container, bootstrap
from chatassist.rebuild import rebuild
from chatassist.settings import Settings
from tests.support.services import throwaway_database

PAGES = [
    "/",
    "/signin",
    "/app",
    "/app/activity",
    "/app/activity?filter=escalated",
    "/app/usage",
    "/app/usage?range=90d",
    "/app/topics",
    "/app/monitor",
    "{transcript}",
    "/app/models",  # the admin screens (issue 15, screens 4, 5 and 7)
    "/app/integrations",
    "/app/settings",
    "/app/settings/storage",
]
FRAGMENTS = {"/app/settings/storage"}  # loaded by its page after it (htmx): HTML without a document around it
PAGE_VIEWS = (*VIEWS, "transcripts")  # the transcript page reads the transcripts view
ASSET = re.compile(r"""<(?:script[^>]+src|link[^>]+href)=["']([^"']+)["']""")


def measure(base: str, email: str, warmup: int, requests: int) -> dict[str, Any]:
    """p50 / p99 / max ms per page (complete HTML), one request at a time over a kept-alive connection."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        # the session cookie, as a browser sends it (httpx keeps Secure cookies for https only; Chromium also sends
        # them to 127.0.0.1)
        client.cookies.clear()
        client.cookies.set("ca_session", login.json()["access_token"])
        feed = client.get("/api/analytics/activity", params={"limit": 1}).json()
        transcript = f"/app/conversations/{feed['items'][0]['id']}"
        for page in PAGES:
            path = transcript if page == "{transcript}" else page
            samples = []
            for n in range(warmup + requests):
                t0 = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - t0) * 1000
                whole = "</html>" in response.text or path in FRAGMENTS
                assert response.status_code == 200 and whole, (path, response.status_code)
                if n >= warmup:
                    samples.append(elapsed)
            label = "/app/conversations/{id}" if page == "{transcript}" else page
            out[label] = {
                "p50_ms": round(statistics.median(samples), 2),
                "p99_ms": round(pct(samples, 99), 2),
                "max_ms": round(max(samples), 2),
                "html_bytes": len(response.content),
            }
            print(f"  {label:<34} p50 {out[label]['p50_ms']:6.2f} ms  p99 {out[label]['p99_ms']:6.2f} ms", flush=True)
        out["overview_with_assets"] = page_weight(client, "/app")
    return out


def page_weight(client: httpx.Client, path: str) -> dict[str, Any]:
    """Bytes on the wire for a first visit of ``path``: its HTML and every script and stylesheet it names (as
    sent, with whatever compression the server applies when the client accepts gzip)."""
    headers = {"Accept-Encoding": "gzip, br"}
    html = client.get(path, headers=headers)
    parts = {path: len(html.content)}  # httpx decodes: measure the encoded size from the stream instead
    sizes = {path: _wire_size(client, path, headers)}
    for asset in ASSET.findall(html.text):
        sizes[asset] = _wire_size(client, asset, headers)
        parts[asset] = len(client.get(asset).content)
    total = sum(sizes.values())
    print(f"  {path} with its assets: {total:,} bytes transferred ({sum(parts.values()):,} decoded)", flush=True)
    return {"transferred_bytes": total, "decoded_bytes": sum(parts.values()), "files": sizes}


def _wire_size(client: httpx.Client, path: str, headers: dict[str, str]) -> int:
    with client.stream("GET", path, headers=headers) as response:
        return sum(len(chunk) for chunk in response.iter_raw())


def catch_up(container: Container, names: list[str], page: int) -> dict[str, dict[str, float]]:
    """`chatassist projections rebuild NAME` for each view the pages read (fresh tables, then swapped in)."""
    out = {}
    for name in names:
        result = rebuild(container, name, batch=page, stream=sys.stdout)
        out[name] = {"events": result.events, "seconds": round(result.seconds, 1), "per_s": round(result.events_per_s)}
    return out


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
            print(f"admin of the measured workspace: {emails[0]} (for --skip-generate --admin-email)", flush=True)
        else:
            report["admin_email"] = args.admin_email
        report["events"] = store_size(container)
        if not args.skip_catch_up:
            report["catch_up"] = catch_up(container, args.views.split(","), args.page)
        container.start_projections(list(PAGE_VIEWS))
        container.wait_for_projections(timeout=60)
        with psycopg.connect(database_url, autocommit=True) as conn:  # as autovacuum would after a bulk load
            conn.execute("VACUUM ANALYZE")
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
        print(f"measuring pages (warm-up {args.warmup}, {args.requests} requests each)", flush=True)
        report["pages"] = measure(f"http://127.0.0.1:{port}", report["admin_email"], args.warmup, args.requests)
    report["load_average_at_end"] = os.getloadavg()
    return report


def main() -> None:
    """Parse the flags, run, print the JSON report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000, help="store size to generate (default 200,000)")
    p.add_argument("--workspaces", type=int, default=2, help="spread the conversations over this many")
    p.add_argument("--page", type=int, default=5000, help="events per rebuild page")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--database-url", help="an existing database (kept); default: a throwaway one")
    p.add_argument("--skip-generate", action="store_true", help="measure the store as it is (needs --admin-email)")
    p.add_argument("--skip-catch-up", action="store_true", help="the views are already near the head")
    p.add_argument("--views", default=",".join(PAGE_VIEWS), help="the views to rebuild before measuring")
    p.add_argument("--admin-email", help="with --skip-generate: an admin of the workspace to measure")
    args = p.parse_args()
    if args.database_url:
        report = run(args, args.database_url)
    else:
        server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        with throwaway_database(server) as url:
            report = run(args, url)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
