"""Benchmark: from the commit of an event to an SSE client of /api/monitor/live seeing it, under a modest load.

    .venv/bin/python -m bench.monitor_live --rate 20 --seconds 30 --clients 4 --web 2

Starts, as separate processes on a throwaway database (CHATASSIST_TEST_DATABASE_URL's server, the Redis of
CHATASSIST_TEST_REDIS_URL; with ``--embedded``, an embedded PostgreSQL and Redis of its own): ``--web``
processes of ``chatassist web`` and one ``chatassist projections run``.
Signs up a workspace, opens ``--clients`` SSE streams of the monitor's active view (spread over the web processes,
so most clients are on a process that did not take the chat: the notice crosses Redis), then sends ``--rate``
chats a second that escalate ("I want to talk to a human": two commits per chat, no model call) for ``--seconds``.

Latency per conversation and client = wall time the client received the ``update`` showing the conversation queued
with its holding reply, minus the timestamp of that reply's event (``last_message_at``: set when the event is made,
just before its commit; so the figure slightly over-counts). Same machine, same clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import httpx
import psycopg

from bench.chat_turns import ROOT, free_port, pct, process, wait_http
from tests.support.services import TEST_DATABASE_URL, TEST_REDIS_URL, servers, throwaway_database

PASSWORD = "bench-Harbor-92"


async def watch(
    base: str, token: str, seen: dict[str, float], updates: list[int], stop: asyncio.Event, opened: asyncio.Event
) -> None:
    """Follow the active view; record when each conversation first shows as queued with its holding reply, and
    count the updates (in ``updates[0]``)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    timeout = httpx.Timeout(10, read=None)
    async with (
        httpx.AsyncClient(base_url=base, timeout=timeout) as client,
        client.stream("GET", "/api/monitor/live", params={"view": "active", "limit": 50}, headers=headers) as r,
    ):
        assert r.status_code == 200, await r.aread()
        event = ""
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                at = time.time()
                opened.set()
                if event == "update":
                    updates[0] += 1
                    for row in json.loads(line[5:])["data"]["items"]:
                        if row["state"] == "queued" and row["last_message_by"] == "assistant":
                            seen.setdefault(row["id"], at)
            if stop.is_set():
                return


async def chat(client: httpx.AsyncClient, key: str, visitor: str) -> None:
    """One escalating chat turn, read to its end."""
    body = {"message": "I want to talk to a human", "user": {"id": visitor}}
    async with client.stream("POST", "/api/chat", json=body, headers={"X-Widget-Key": key}) as response:
        async for _ in response.aiter_lines():
            pass


async def run(bases: list[str], args: argparse.Namespace) -> tuple[list[dict[str, float]], list[int], float]:
    """Sign up, open the streams, drive the load; returns what each client saw, its update count, the rate."""
    async with httpx.AsyncClient(base_url=bases[0], timeout=30) as client:
        signup = await client.post(
            "/api/auth/signup",
            json={"email": "bench@example.com", "password": PASSWORD, "name": "B", "workspace_name": "Bench"},
        )
        signup.raise_for_status()
        body = signup.json()
    token, key = body["session"]["access_token"], body["widget_key"]
    stop = asyncio.Event()
    seen: list[dict[str, float]] = [{} for _ in range(args.clients)]
    updates: list[list[int]] = [[0] for _ in range(args.clients)]
    opened = [asyncio.Event() for _ in range(args.clients)]
    # client 0 on the web process that takes the chats, the others on the next ones, round robin
    watchers = [
        asyncio.create_task(watch(bases[i % len(bases)], token, seen[i], updates[i], stop, opened[i]))
        for i in range(args.clients)
    ]
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 10)
    total = int(args.rate * args.seconds)
    async with httpx.AsyncClient(base_url=bases[0], timeout=30) as client:
        started = time.perf_counter()
        tasks = []
        for n in range(total):
            await asyncio.sleep(max(0.0, started + n / args.rate - time.perf_counter()))
            tasks.append(asyncio.create_task(chat(client, key, f"visitor-{n}")))
        await asyncio.gather(*tasks)
        achieved = total / (time.perf_counter() - started)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and min(len(s) for s in seen) < total:
        await asyncio.sleep(0.1)
    stop.set()
    for w in watchers:
        w.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await w
    return seen, [u[0] for u in updates], achieved


def main() -> None:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="escalating chats per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=4, help="SSE clients of the monitor")
    parser.add_argument("--web", type=int, default=2, help="chatassist web processes")
    parser.add_argument("--embedded", action="store_true", help="own embedded PostgreSQL and Redis (a busy server)")
    args = parser.parse_args()
    if args.embedded:
        os.environ.pop(TEST_DATABASE_URL, None)
        os.environ.pop(TEST_REDIS_URL, None)
    else:
        os.environ.setdefault(TEST_DATABASE_URL, "postgresql://postgres@127.0.0.1:5432/postgres")
        os.environ.setdefault(TEST_REDIS_URL, "redis://127.0.0.1:6379/0")
    with servers() as (server_url, redis_url), throwaway_database(server_url) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CHATASSIST_LOG_LEVEL": "WARNING",
            "CHATASSIST_SECRET_KEY": secrets.token_urlsafe(32),
            "CHATASSIST_RATE_CHAT_PER_USER": "0",
            "CHATASSIST_RATE_CHAT_PER_IP": "0",
        }
        for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            env.pop(name, None)  # escalations never call a model
        cli = [sys.executable, "-m", "chatassist.cli"]
        subprocess.run([*cli, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        ports = [free_port() for _ in range(args.web)]
        with contextlib.ExitStack() as stack:
            stack.enter_context(process([*cli, "projections", "run"], env))
            for port in ports:
                stack.enter_context(process([*cli, "web", "--port", str(port)], env))
            bases = [f"http://127.0.0.1:{p}" for p in ports]
            for base in bases:
                asyncio.run(wait_http(base + "/ready"))
            seen, counts, achieved = asyncio.run(run(bases, args))
        with psycopg.connect(database_url) as conn:
            made: dict[str, datetime] = {
                str(i): at for i, at in conn.execute("SELECT id, last_message_at FROM monitor_v1_conversations")
            }
    report: dict[str, Any] = {"rate_per_s": round(achieved, 1), "conversations": len(made), "clients": []}
    every: list[float] = []
    for index, (got, updates) in enumerate(zip(seen, counts, strict=True)):
        lat = [(got[i] - made[i].timestamp()) * 1000 for i in got if i in made]
        every += lat
        report["clients"].append({
            "web_process": index % args.web,
            "updates": updates,
            "seen": len(lat),
            "p50_ms": round(pct(lat, 50), 1) if lat else None,
            "p99_ms": round(pct(lat, 99), 1) if lat else None,
        })  # fmt: skip
    report["all"] = {
        "p50_ms": round(pct(every, 50), 1),
        "p99_ms": round(pct(every, 99), 1),
        "max_ms": round(max(every), 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
