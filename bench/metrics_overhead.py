"""Micro-benchmark: what the metrics and the request id add to each HTTP request, and what a scrape costs.

    .venv/bin/python -m bench.metrics_overhead [--requests 20000] [--repeat 7]

Two Litestar apps with the same one JSON route (``GET /items/{item_id:int}``, a path parameter as most of ours
have), one with the ``observe_requests`` middleware of web/observability.py (request id read or made, set for the
request, returned in ``X-Request-ID``; the route template's latency histogram observed), one without. Each request
is driven through the ASGI interface in-process (no socket, no server): the difference per request is the
middleware's own cost. Best of --repeat passes, in this thread's CPU time (a shared machine inflates it less than
wall-clock time). Then the time to render ``/metrics`` after a realistic spread of series (40 routes x 3 statuses,
6 turn outcomes, 4 models x 3 outcomes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any

from litestar import Litestar, get
from prometheus_client import REGISTRY, generate_latest

from commands._metrics import observe_turn
from domain.conversation import ModelCall
from web.observability import HTTP_LATENCY, observe_requests


@get("/items/{item_id:int}")
async def item(item_id: int) -> dict[str, int]:
    """One small JSON document."""
    return {"id": item_id}


def app(observed: bool) -> Litestar:
    return Litestar([item], middleware=[observe_requests] if observed else [])


async def drive(asgi: Any, requests: int) -> float:
    """CPU seconds for ``requests`` GETs through ``asgi``."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.thread_time()
    for n in range(requests):
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": f"/items/{n}", "raw_path": f"/items/{n}".encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
            "state": {},
        }  # fmt: skip
        await asgi(scope, receive, send)
        sent.clear()
    return time.thread_time() - started


def scrape_cost() -> float:
    """Milliseconds to render the registry once it holds a realistic spread of series."""
    for r in range(40):
        for status in ("200", "404", "503"):
            HTTP_LATENCY.labels("GET", f"/bench/route/{r}", status).observe(0.01)
    logging.getLogger("chatassist.turn").setLevel(logging.WARNING)  # observe_turn's log line is not measured here
    call = ModelCall("c", "anthropic", "claude-sonnet-4-6", 1, 1, 100, 50, 0, 0, 80.0, 400.0, None, "ok")
    for outcome in ("answered", "escalated", "human", "budget_exhausted", "providers_unavailable"):
        observe_turn("bench", outcome, [call])
    best = float("inf")
    for _ in range(20):
        started = time.perf_counter()
        generate_latest(REGISTRY)
        best = min(best, time.perf_counter() - started)
    return best * 1000


async def main(requests: int, repeat: int) -> dict[str, float]:
    plain, observed = app(False), app(True)
    await drive(plain, 500)  # warm both (routing caches, first histogram child)
    await drive(observed, 500)
    best_plain = min([await drive(plain, requests) for _ in range(repeat)])
    best_observed = min([await drive(observed, requests) for _ in range(repeat)])
    return {
        "us_per_request_without": round(best_plain / requests * 1e6, 1),
        "us_per_request_with": round(best_observed / requests * 1e6, 1),
        "us_added_per_request": round((best_observed - best_plain) / requests * 1e6, 1),
        "ms_per_scrape": round(scrape_cost(), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.repeat)), indent=2))
