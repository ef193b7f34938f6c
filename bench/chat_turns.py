"""Benchmark: the backend's own overhead per chat turn, and turns per second, against an instant fake provider.

    .venv/bin/python -m bench.chat_turns --turns 3000 --concurrency 32

Starts, as separate processes: the fake upstream, `chatassist web` (one process) and
`chatassist projections run` (so projection writes load the database as in production), all
on a throwaway database of the PostgreSQL server in CHATASSIST_TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres) and the Redis in CHATASSIST_TEST_REDIS_URL.

Overhead = latency of a streamed turn through ChatAssist (request sent -> `done` received)
minus the latency of the same streamed call made directly to the fake with the same SDK,
both measured one at a time (concurrency 1). Throughput is measured at --concurrency.
Every turn commits its events (user message, model call, reply) before `done`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anthropic
import httpx
import psycopg

from tests.support.services import throwaway_database

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@contextmanager
def process(args: list[str], env: dict[str, str], ready: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """A child process, stopped on exit; waits for a line containing ``ready`` when given."""
    out = subprocess.PIPE if ready else subprocess.DEVNULL
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        if ready:
            assert proc.stdout is not None
            for line in proc.stdout:
                if ready in line:
                    break
            else:
                raise RuntimeError(f"{args} exited before it was ready")
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_http(url: str) -> None:
    """Poll until ``url`` answers 200."""
    async with httpx.AsyncClient() as client:
        for _ in range(1200):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} never became ready")


async def one_turn(
    client: httpx.AsyncClient, key: str, user: str, conversation_id: str | None, tokens: dict[str, str]
) -> tuple[float, str]:
    """Send one message, read the stream to `done`; returns (seconds, conversation id). A follow-up sends the
    conversation's visitor token (``tokens``: conversation id -> the token its first turn issued)."""
    body = {
        "message": "How do I turn on two-factor authentication?",
        "conversation_id": conversation_id,
        "user": {"id": user},
    }
    headers = {"X-Widget-Key": key}
    if conversation_id and conversation_id in tokens:
        headers["X-Visitor-Token"] = tokens[conversation_id]
    started = time.perf_counter()
    conv = conversation_id or ""
    done = False
    async with client.stream("POST", "/api/chat", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/api/chat answered {response.status_code}: {(await response.aread())[:300]!r}")
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "start":
                data = json.loads(line[5:])
                conv = data["conversation_id"]
                if data.get("visitor_token"):
                    tokens[conv] = data["visitor_token"]
            elif line.startswith("data:") and event in ("done", "error"):
                if event == "error":
                    raise RuntimeError(line)
                done = True
                break
    if not done:
        raise RuntimeError("the stream ended without a done event")
    return time.perf_counter() - started, conv


async def direct_calls(base_url: str, n: int) -> list[float]:
    """Latency of streamed calls straight to the fake with the anthropic SDK, one at a time."""
    client = anthropic.AsyncAnthropic(api_key="bench", base_url=base_url, max_retries=0)
    out = []
    for _ in range(n):
        started = time.perf_counter()
        stream = await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            stream=True,
            messages=[{"role": "user", "content": "How do I turn on 2FA?"}],
        )
        async for _event in stream:
            pass
        out.append(time.perf_counter() - started)
    await client.close()
    return out


async def load(
    base_url: str, key: str, turns: int, concurrency: int, turns_per_conversation: int
) -> tuple[list[float], float]:
    """Run ``turns`` turns with ``concurrency`` visitors; returns (latencies, wall seconds)."""
    latencies: list[float] = []
    tokens: dict[str, str] = {}
    remaining = iter(range(turns))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def visitor(index: int, client: httpx.AsyncClient) -> None:
        conversation: str | None = None
        for count, _ in enumerate(remaining, start=1):
            seconds, conversation = await one_turn(client, key, f"bench-{index}", conversation, tokens)
            latencies.append(seconds)
            if count % turns_per_conversation == 0:
                conversation = None

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(visitor(i, client) for i in range(concurrency)))
        return latencies, time.perf_counter() - started


def wait_for_projections(database_url: str, timeout: float = 120.0) -> None:
    """Block until both projections have applied every event they subscribe to (a steady state to measure from)."""
    if "--no-projections" in sys.argv:
        return
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT (SELECT coalesce(max(notification_id), 0) FROM chatassist_events"
                "        WHERE topic NOT LIKE '%Workspace%' AND topic NOT LIKE '%WidgetKeyIndex%'),"
                " (SELECT coalesce(max(notification_id), 0) FROM transcripts_v2_tracking"
                "        WHERE application_name = 'ChatAssist'),"
                " (SELECT coalesce(max(notification_id), 0) FROM chatassist_events WHERE topic LIKE '%ModelCallMade'),"
                " (SELECT coalesce(max(notification_id), 0) FROM usage_v1_tracking"
                "        WHERE application_name = 'ChatAssist')"
            ).fetchone()
            if row and row[1] >= row[0] and row[3] >= row[2]:
                return
            time.sleep(0.1)
    raise RuntimeError("projections did not catch up")


def main() -> None:
    """Run the benchmark and print a report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=300, help="turns for the one-at-a-time overhead run")
    parser.add_argument("--turns-per-conversation", type=int, default=5)
    parser.add_argument("--web-workers", type=int, default=1, help="chatassist web --workers N")
    parser.add_argument("--no-projections", action="store_true", help="measure the request path alone")
    args = parser.parse_args()
    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    fake_port, web_port = free_port(), free_port()
    with throwaway_database(server_url) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ANTHROPIC_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_port}",
            "CHATASSIST_LOG_LEVEL": "WARNING",
            "CHATASSIST_SECRET_KEY": secrets.token_urlsafe(32),
            "CHATASSIST_RATE_CHAT_PER_USER": "0",  # the benchmark is one IP and few visitors
            "CHATASSIST_RATE_CHAT_PER_IP": "0",
            "CHATASSIST_RATE_NEW_CONVERSATIONS_PER_IP": "0",
            "CHATASSIST_RATE_NEW_CONVERSATIONS_PER_WORKSPACE": "0",
            "CHATASSIST_RATE_TOKENS_PER_IP": "0",
        }
        env.pop("OPENAI_API_KEY", None)
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
        key = json.loads(created.stdout.strip().splitlines()[-1])["widget_key"]
        with (
            process([sys.executable, "-m", "bench.fake_upstream", "--port", str(fake_port)], env, "ready"),
            process(
                [
                    *os.environ.get("BENCH_WEB_PREFIX", "").split(),
                    *cli,
                    "web",
                    "--port",
                    str(web_port),
                    "--workers",
                    str(args.web_workers),
                ],
                env,
            ),
            process([*cli, "projections", "run"], env),
        ):
            base = f"http://127.0.0.1:{web_port}"
            asyncio.run(wait_http(base + "/ready"))
            asyncio.run(load(base, key, 200, 8, args.turns_per_conversation))  # warm up
            wait_for_projections(database_url)
            direct = asyncio.run(direct_calls(f"http://127.0.0.1:{fake_port}", args.sequential))
            sequential, _ = asyncio.run(load(base, key, args.sequential, 1, args.turns_per_conversation))
            wait_for_projections(database_url)
            loaded, wall = asyncio.run(load(base, key, args.turns, args.concurrency, args.turns_per_conversation))
            caught_up = time.perf_counter()
            wait_for_projections(database_url)
            projection_drain_s = time.perf_counter() - caught_up
        with psycopg.connect(database_url) as conn:
            replies = conn.execute(
                "SELECT count(*) FROM chatassist_events WHERE topic LIKE '%Conversation.AssistantReplied'"
            ).fetchone()
    ms = lambda s: round(s * 1000, 2)  # noqa: E731
    report = {
        "direct_sdk_call_ms": {"p50": ms(pct(direct, 50)), "p99": ms(pct(direct, 99))},
        "turn_via_chatassist_ms": {"p50": ms(pct(sequential, 50)), "p99": ms(pct(sequential, 99))},
        "overhead_ms": {
            "p50": ms(pct(sequential, 50) - pct(direct, 50)),
            "p99": ms(pct(sequential, 99) - pct(direct, 99)),
        },
        "loaded": {
            "concurrency": args.concurrency,
            "turns": len(loaded),
            "turns_per_s": round(len(loaded) / wall, 1),
            "latency_p50_ms": ms(pct(loaded, 50)),
            "latency_p99_ms": ms(pct(loaded, 99)),
            "mean_ms": ms(statistics.fmean(loaded)),
        },
        "projections_caught_up_s_after_load": round(projection_drain_s, 2),
        "assistant_replies_committed": replies[0] if replies else None,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
