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
import itertools
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
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import anthropic
import httpx
import psycopg

from tests.support.services import throwaway_database

ROOT = Path(__file__).resolve().parent.parent
TOKENS: dict[str, str] = {}  # conversation id -> the visitor token its first turn returned


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


async def one_turn(client: httpx.AsyncClient, key: str, user: str, conversation_id: str | None) -> tuple[float, str]:
    """Send one message, read the stream to `done`; returns (seconds, conversation id)."""
    body = {
        "message": "How do I turn on two-factor authentication?",
        "conversation_id": conversation_id,
        "user": {"id": user},
    }
    started = time.perf_counter()
    conv = conversation_id or ""
    headers = {"X-Widget-Key": key, **({"X-Visitor-Token": TOKENS[conv]} if conv in TOKENS else {})}
    async with client.stream("POST", "/api/chat", json=body, headers=headers) as response:
        if response.status_code != 200:  # a refused turn is not a fast one
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:300]!r}")
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "start":
                start = json.loads(line[5:])
                conv = start["conversation_id"]
                if start.get("visitor_token"):  # the conversation's next turns must show it
                    TOKENS[conv] = start["visitor_token"]
            elif line.startswith("data:") and event in ("done", "error"):
                if event == "error":
                    raise RuntimeError(line)
                break
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
    remaining = iter(range(turns))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def visitor(index: int, client: httpx.AsyncClient) -> None:
        conversation: str | None = None
        for count, _ in enumerate(remaining, start=1):
            seconds, conversation = await one_turn(client, key, f"bench-{index}", conversation)
            latencies.append(seconds)
            if count % turns_per_conversation == 0:
                conversation = None

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(visitor(i, client) for i in range(concurrency)))
        return latencies, time.perf_counter() - started


# --- issue 18: the table of the issue (added latency, time to first token, open loop, RSS) -------------------------


async def timed_turn(
    client: httpx.AsyncClient, key: str, user: str, conversation_id: str | None, seen: list[float] | None = None
) -> tuple[float, float, str]:
    """One streamed turn: (seconds to `done`, seconds to the first `delta`, conversation id). ``seen`` gets the
    arrival time of every SSE line (for the longest pause of an open-loop run)."""
    body = {
        "message": "How do I turn on two-factor authentication?",
        "conversation_id": conversation_id,
        "user": {"id": user},
    }
    started = time.perf_counter()
    first = 0.0
    conv = conversation_id or ""
    headers = {"X-Widget-Key": key, **({"X-Visitor-Token": TOKENS[conv]} if conv in TOKENS else {})}
    async with client.stream("POST", "/api/chat", json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:300]!r}")
        event = ""
        async for line in response.aiter_lines():
            if seen is not None:
                seen.append(time.perf_counter())
            if line.startswith("event:"):
                event = line[6:].strip()
                if event == "delta" and not first:
                    first = time.perf_counter() - started
            elif line.startswith("data:") and event == "start":
                start = json.loads(line[5:])
                conv = start["conversation_id"]
                if start.get("visitor_token"):
                    TOKENS[conv] = start["visitor_token"]
            elif line.startswith("data:") and event in ("done", "error"):
                if event == "error":
                    raise RuntimeError(line)
                break
    return time.perf_counter() - started, first, conv


async def direct_timed(base_url: str, n: int) -> tuple[list[float], list[float]]:
    """(total, time to first text delta) of streamed calls straight to the fake with the anthropic SDK, one at a
    time: the baseline the issue subtracts."""
    client = anthropic.AsyncAnthropic(api_key="bench", base_url=base_url, max_retries=0)
    totals, firsts = [], []
    for _ in range(n):
        started = time.perf_counter()
        first = 0.0
        stream = await client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=256,
            stream=True,
            messages=[{"role": "user", "content": "How do I turn on 2FA?"}],
        )
        async for event in stream:
            if not first and event.type == "content_block_delta":
                first = time.perf_counter() - started
        totals.append(time.perf_counter() - started)
        firsts.append(first)
    await client.close()
    return totals, firsts


async def sequential_timed(
    base_url: str, key: str, turns: int, per_conversation: int
) -> tuple[list[float], list[float]]:
    """(total, time to first delta) of turns one at a time (visitors of ``per_conversation`` turns)."""
    totals, firsts = [], []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        conversation: str | None = None
        for count in range(1, turns + 1):
            total, first, conversation = await timed_turn(client, key, "bench-seq", conversation)
            totals.append(total)
            firsts.append(first)
            if count % per_conversation == 0:
                conversation = None
    return totals, firsts


async def open_loop(base_url: str, key: str, rate: float, seconds: float, per_conversation: int) -> dict[str, float]:
    """Turns started on a fixed schedule of ``rate`` a second whatever the answers do (latency counted from the
    scheduled start, so a stall is not hidden); returns latencies and the longest silence while turns were open."""
    latencies: list[float] = []
    seen: list[float] = []
    spans: list[tuple[float, float]] = []
    failures = 0
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        visitors: list[tuple[str | None, int]] = []  # (conversation, turns so far) of idle visitors

        async def one(scheduled: float) -> None:
            nonlocal failures
            conversation, count = visitors.pop() if visitors else (None, 0)
            try:
                _, _, conversation = await timed_turn(client, key, f"open-{id(conversation)}", conversation, seen)
            except Exception:  # counted: a refused or broken turn is reported, not timed
                failures += 1
                return
            end = time.perf_counter()
            latencies.append(end - scheduled)
            spans.append((scheduled, end))
            if count + 1 < per_conversation:
                visitors.append((conversation, count + 1))

        tasks = []
        begin = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            scheduled = begin + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - begin
    # the longest gap between two SSE lines received while at least one turn was in flight
    seen.sort()
    pause = 0.0
    for a, b in itertools.pairwise(seen):
        if b - a > pause and any(s <= a and b <= e for s, e in spans):
            pause = b - a
    return {"latencies": latencies, "pause": pause, "failures": failures, "wall": wall, "offered": n}  # type: ignore[dict-item]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) ``pid`` has used: less noisy than wall-clock on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (MB)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(x) for x in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


async def open_streams(base_url: str, key: str, n: int, pid: int) -> dict[str, float]:
    """Open ``n`` visitor live streams (GET /api/conversations/{id}/events) spread over the conversations the run
    made, wait until each is connected, and read the web process's RSS with them all open."""
    conversations = list(TOKENS.items())
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    connected = 0
    hold = asyncio.Event()

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def stream(i: int) -> None:
            nonlocal connected
            conv, token = conversations[i % len(conversations)]
            headers = {"X-Widget-Key": key, "X-Visitor-Token": token, "Accept": "text/event-stream"}
            async with client.stream("GET", f"/api/conversations/{conv}/events", headers=headers) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"stream {response.status_code}: {(await response.aread())[:200]!r}")
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        break
                connected += 1
                await hold.wait()

        tasks = [asyncio.create_task(stream(i)) for i in range(n)]
        for _ in range(1200):
            if connected >= n or any(t.done() and t.exception() for t in tasks):
                break
            await asyncio.sleep(0.1)
        for t in tasks:
            if t.done() and t.exception():
                raise t.exception()  # type: ignore[misc]
        await asyncio.sleep(2)
        peak = 0.0
        for _ in range(5):
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.2)
        hold.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": connected, "rss_mb": peak}


def markdown18(t: dict[str, Any]) -> str:
    """Issue 18's table, as in the issue: ChatAssist's added figures and, on the row above, the direct baseline."""
    a, o, r, d = t["added_c1_ms"], t["open_loop"], t["rss_mb"], t["direct_sdk_ms"]
    streams = next(k for k in r if k.startswith("with_"))
    return "\n".join(
        [
            "| | added per streamed turn, c=1, p50 / p99 | first token added, p50 | turns/s, c=20 | c=100 p50 / p99"
            f" | open loop {o['offered_per_s']:.0f}/s: added p99, longest pause | RSS at rest / {streams} |",
            "|---|---|---|---|---|---|---|",
            f"| direct to the fake with the SDK (baseline) | {d['p50']} / {d['p99']} ms (absolute)"
            f" | {d['first_token_p50']} ms (absolute) | | | | |",
            f"| ChatAssist, 1 `web` + `projections run` | {a['p50']} / {a['p99']} ms"
            f" | {t['first_token_added_p50_ms']} ms"
            f" | {t['turns_per_s_c20']} | {t['c100_ms']['p50']} / {t['c100_ms']['p99']} ms"
            f" | {o['added_p99_ms']} ms, {o['longest_pause_ms']} ms ({o['achieved_per_s']}/s done, {o['failures']}"
            f" failed) | {r['at_rest']} / {r[streams]} MB |",
            f"(web process CPU per turn at c=20: {t['web_cpu_ms_per_turn_c20']} ms;"
            f" load average at the end: {t['load_average_at_end']})",
        ]
    )


def issue18(base: str, fake: str, key: str, pid: int, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The table of issue 18, ChatAssist and the direct baseline measured in the same run."""
    ms = lambda s: round(s * 1000, 2)  # noqa: E731
    asyncio.run(load(base, key, 200, 8, args.turns_per_conversation))  # warm up
    wait_for_projections(database_url)
    time.sleep(2)
    rest = rss_mb(pid)
    if args.memory_only:  # the two RSS figures alone, in a minute (docs/performance.md, Session 10)
        streams = asyncio.run(open_streams(base, key, args.streams, pid))
        return {
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "rss_mb": {"at_rest": rest, f"with_{streams['streams']}_streams": streams["rss_mb"]},
        }
    direct, direct_first = asyncio.run(direct_timed(fake, args.sequential))
    seq, seq_first = asyncio.run(sequential_timed(base, key, args.sequential, args.turns_per_conversation))
    wait_for_projections(database_url)
    cpu_before = cpu_s(pid)
    c20, wall20 = asyncio.run(load(base, key, args.turns, 20, args.turns_per_conversation))
    cpu_per_turn = (cpu_s(pid) - cpu_before) / len(c20)
    wait_for_projections(database_url)
    c100, _ = asyncio.run(load(base, key, args.turns, 100, args.turns_per_conversation))
    wait_for_projections(database_url)
    opened = asyncio.run(open_loop(base, key, args.open_rate, args.open_seconds, args.turns_per_conversation))
    wait_for_projections(database_url)
    streams = asyncio.run(open_streams(base, key, args.streams, pid))
    lat = opened["latencies"]
    return {
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "direct_sdk_ms": {
            "p50": ms(pct(direct, 50)),
            "p99": ms(pct(direct, 99)),
            "first_token_p50": ms(pct(direct_first, 50)),
        },
        "added_c1_ms": {
            "p50": ms(pct(seq, 50) - pct(direct, 50)),
            "p99": ms(pct(seq, 99) - pct(direct, 99)),
            "via_chatassist_p50": ms(pct(seq, 50)),
            "via_chatassist_p99": ms(pct(seq, 99)),
        },
        "first_token_added_p50_ms": ms(pct(seq_first, 50) - pct(direct_first, 50)),
        "turns_per_s_c20": round(len(c20) / wall20, 1),
        "web_cpu_ms_per_turn_c20": ms(cpu_per_turn),
        "c100_ms": {"p50": ms(pct(c100, 50)), "p99": ms(pct(c100, 99))},
        "open_loop": {
            "offered_per_s": args.open_rate,
            "turns": len(lat),  # type: ignore[arg-type]
            "failures": opened["failures"],
            "achieved_per_s": round(len(lat) / opened["wall"], 1),  # type: ignore[arg-type]
            "added_p99_ms": ms(pct(lat, 99) - pct(direct, 99)),  # type: ignore[arg-type]
            "p50_ms": ms(pct(lat, 50)),  # type: ignore[arg-type]
            "longest_pause_ms": ms(opened["pause"]),
        },
        "rss_mb": {"at_rest": rest, f"with_{streams['streams']}_streams": streams["rss_mb"]},
    }


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
    parser.add_argument(
        "--database-url",
        help="an existing store to run on, kept (e.g. the 1,000,000-event one of bench.dashboards, every view at its"
        " head); its turns go to a new workspace. Default: a throwaway empty database",
    )
    parser.add_argument(
        "--issue18",
        action="store_true",
        help="print issue 18's table instead: added latency at c=1, turns/s at c=20, c=100, time to first token,"
        " an open-loop run, RSS at rest and with --streams open live streams (--turns sets each closed-loop run)",
    )
    parser.add_argument("--open-rate", type=float, default=250.0, help="--issue18: offered turns/s of the open loop")
    parser.add_argument("--open-seconds", type=float, default=10.0, help="--issue18: length of the open-loop run")
    parser.add_argument("--streams", type=int, default=1000, help="--issue18: live SSE streams held open")
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="--issue18: only the RSS at rest (after the warm-up) and with --streams live streams open",
    )
    args = parser.parse_args()
    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    fake_port, web_port = free_port(), free_port()
    store = nullcontext(args.database_url) if args.database_url else throwaway_database(server_url)
    with store as database_url:
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
            ) as web,
            process([*cli, "projections", "run"], env),
        ):
            base = f"http://127.0.0.1:{web_port}"
            asyncio.run(wait_http(base + "/ready"))
            if args.issue18:
                table = issue18(base, f"http://127.0.0.1:{fake_port}", key, web.pid, database_url, args)
                print(json.dumps(table, indent=2))
                if not args.memory_only:
                    print(markdown18(table))
                return
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
        "store": args.database_url or "throwaway (empty)",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # the machine's share (2 cores here)
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
