"""Benchmark: the parts of a chat turn that issue 18's changes removed or replaced, measured in isolation.

    .venv/bin/python -m bench.chat_turn_parts

On a shared machine the whole-turn figures of ``bench.chat_turns --issue18`` move with the neighbours' load; these
are small, repeatable measurements of what changed (docs/performance.md, "Session 9"):
- one worker-thread hop (``anyio.to_thread.run_sync`` of a no-op), as each event-store step of a turn makes;
- one SSE message of a turn: Litestar's ``ServerSentEventMessage`` + ``json.dumps`` against ``web.sse.frame``;
- a full garbage collection of a process that has imported and built the web app, before and after
  ``chatassist.gc_tuning.settle()``.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from typing import Any

import anyio
import anyio.to_thread
from litestar.response import ServerSentEventMessage

from web.sse import frame

DONE: dict[str, Any] = {
    "message_id": "m-1",
    "reply_to": "m-0",
    "usage": {"input_tokens": 900, "output_tokens": 12, "cache_read_tokens": 0, "cache_write_tokens": 0},
    "cost_usd": "0.0029",
    "confidence": 0.82,
    "topic": "account",
    "provider": "anthropic",
    "model": "claude-sonnet-4-6",
    "prompt_version": 1,
    "attempts": 1,
    "offline": False,
    "escalation": None,
    "citations": [{"article_id": "a", "version": 1, "title": "Two-factor authentication", "url": "https://x/2fa"}],
    "handled_by": "ai",
}


def per_call_us(fn: Any, n: int) -> tuple[float, float]:
    """(wall, CPU) microseconds per call of ``fn``, median of 5 rounds of ``n``."""
    walls, cpus = [], []
    for _ in range(5):
        w, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        walls.append((time.perf_counter() - w) / n * 1e6)
        cpus.append((time.process_time() - c) / n * 1e6)
    return statistics.median(walls), statistics.median(cpus)


async def hops(n: int) -> tuple[float, float]:
    """(wall, CPU) microseconds per worker-thread round trip, median of 5 rounds."""
    walls, cpus = [], []
    for _ in range(5):
        w, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            await anyio.to_thread.run_sync(int)
        walls.append((time.perf_counter() - w) / n * 1e6)
        cpus.append((time.process_time() - c) / n * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    """Print the three measurements."""
    wall, cpu = anyio.run(hops, 2000)
    print(f"worker-thread hop: {wall:.1f} us wall, {cpu:.1f} us CPU")
    old = per_call_us(lambda: ServerSentEventMessage(event="done", data=json.dumps(DONE)).encode(), 20000)
    new = per_call_us(lambda: frame("done", DONE), 20000)
    print(f"`done` SSE message: Litestar + json.dumps {old[1]:.2f} us CPU, web.sse.frame {new[1]:.2f} us CPU")
    delta_old = per_call_us(
        lambda: ServerSentEventMessage(event="delta", data=json.dumps({"text": " word"})).encode(), 20000
    )
    delta_new = per_call_us(lambda: frame("delta", {"text": " word"}), 20000)
    print(f"`delta` SSE message: Litestar + json.dumps {delta_old[1]:.2f} us CPU, web.sse.frame {delta_new[1]:.2f} us")

    import web.app  # noqa: F401  (what a web process holds)
    from chatassist.gc_tuning import settle

    tracked = len(gc.get_objects())
    started = time.perf_counter()
    gc.collect()
    full = (time.perf_counter() - started) * 1000
    settle()
    started = time.perf_counter()
    gc.collect()
    after = (time.perf_counter() - started) * 1000
    print(f"full collection of {tracked} tracked objects: {full:.0f} ms; after settle(): {after:.1f} ms")


if __name__ == "__main__":
    main()
