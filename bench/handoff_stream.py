"""Benchmark: how fast an agent's reply reaches the visitor's live stream, across two web processes.

    .venv/bin/python -m bench.handoff_stream --conversations 20 --replies 10

Starts two `chatassist web` processes (A and B) on a throwaway database of the PostgreSQL server in
CHATASSIST_TEST_DATABASE_URL and the Redis in CHATASSIST_TEST_REDIS_URL, signs up an admin, escalates
``--conversations`` chats (a visitor asks for a person), claims each on A and opens each visitor's stream
(GET /api/conversations/{id}/events) on B. Then, one reply at a time round-robin over the chats, it posts an agent
reply to A and times until B's stream delivers it (POST sent -> `agent_message` received): the Redis wake-up path
across processes. ``--no-publish`` is not offered: the re-read safety net is bounded by design (3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import time

import httpx

from bench.chat_turns import ROOT, free_port, pct, process, wait_http
from tests.support.services import throwaway_database


async def reader(
    client: httpx.AsyncClient, key: str, conversation_id: str, token: str, got: asyncio.Queue[tuple[str, float]]
) -> None:
    """Follow one visitor stream; put (message text, arrival time) for each agent message."""
    headers = {"X-Widget-Key": key, "X-Visitor-Token": token, "Accept": "text/event-stream"}
    async with client.stream("GET", f"/api/conversations/{conversation_id}/events", headers=headers) as response:
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "agent_message":
                await got.put((json.loads(line[5:])["text"], time.perf_counter()))


async def run(a: str, b: str, conversations: int, replies: int) -> dict[str, object]:
    """Set up the chats and measure each reply's trip."""
    async with httpx.AsyncClient(base_url=a, timeout=30) as ca, httpx.AsyncClient(base_url=b, timeout=None) as cb:
        signup = await ca.post(
            "/api/auth/signup",
            json={
                "email": "bench@example.com",
                "password": "tulip-Harbor-92",
                "name": "Dana Bench",
                "workspace_name": "B",
            },
        )
        body = signup.json()
        key, token = body["widget_key"], body["session"]["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        ids, queues, tasks = [], [], []
        for n in range(conversations):
            answer = await ca.post(
                "/api/chat",
                json={"message": "I want to talk to a human", "user": {"id": f"visitor-{n}"}},
                headers={"X-Widget-Key": key, "Accept": "application/json"},
            )
            conversation_id, token = answer.json()["conversation_id"], answer.json()["visitor_token"]
            assert (await ca.post(f"/api/agent/conversations/{conversation_id}/claim", headers=auth)).status_code == 200
            got: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
            tasks.append(asyncio.create_task(reader(cb, key, conversation_id, token, got)))
            ids.append(conversation_id)
            queues.append(got)
        await asyncio.sleep(1.0)  # the streams are connected and B's subscription is live
        trips: list[float] = []
        for r in range(replies * conversations):
            index = r % conversations
            text = f"reply {r}"
            sent = time.perf_counter()
            posted = await ca.post(f"/api/agent/conversations/{ids[index]}/reply", json={"text": text}, headers=auth)
            assert posted.status_code == 201, posted.text
            while True:
                seen, at = await asyncio.wait_for(queues[index].get(), timeout=10)
                if seen == text:
                    trips.append(at - sent)
                    break
        for task in tasks:
            task.cancel()
    ms = lambda s: round(s * 1000, 1)  # noqa: E731
    return {
        "streams_open": conversations,
        "replies": len(trips),
        "reply_to_stream_ms": {
            "p50": ms(pct(trips, 50)),
            "p90": ms(pct(trips, 90)),
            "p99": ms(pct(trips, 99)),
            "max": ms(max(trips)),
            "mean": ms(statistics.fmean(trips)),
        },
        "over_1s": sum(1 for t in trips if t > 1.0),
    }


def main() -> None:
    """Run the benchmark and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--replies", type=int, default=10, help="replies per conversation")
    args = parser.parse_args()
    server_url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    port_a, port_b = free_port(), free_port()
    with throwaway_database(server_url) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CHATASSIST_LOG_LEVEL": "WARNING",
            "CHATASSIST_SECRET_KEY": secrets.token_urlsafe(32),
            "CHATASSIST_RATE_CHAT_PER_USER": "0",
            "CHATASSIST_RATE_CHAT_PER_IP": "0",
            "CHATASSIST_RATE_API_PER_USER": "0",
        }
        for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
            env.pop(name, None)
        cli = [sys.executable, "-m", "chatassist.cli"]
        subprocess.run([*cli, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        with (
            process([*cli, "web", "--port", str(port_a)], env),
            process([*cli, "web", "--port", str(port_b)], env),
        ):
            a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            asyncio.run(wait_http(a + "/ready"))
            asyncio.run(wait_http(b + "/ready"))
            report = asyncio.run(run(a, b, args.conversations, args.replies))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
