"""One Anthropic streamed call's client cost: the SDK's request path (as the chat path used it before ADR 0071)
against ``AnthropicProvider`` (a kept httpx client), alternately in rounds, against the instant fake upstream.

    .venv/bin/python -m bench.provider_call [--calls 300] [--rounds 5]

Prints, per client, the thread CPU and the wall time per call (medians over the rounds). CPU is the steadier figure
on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import msgspec

from bench.chat_turns import free_port
from commands.ai import base
from commands.ai.anthropic_provider import AnthropicProvider
from commands.ai.request import body
from tests.fakes.llm_server import FakeLLMServer, Script

REQUEST = base.PromptRequest(
    model="claude-haiku-4-5", system="You answer questions about the product. " * 20, examples=[], history=[],
    max_tokens=400,
)  # fmt: skip


async def timed(call: Callable[[], Awaitable[None]], n: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call over ``n`` calls."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(n):
        await call()
    return (time.thread_time() - cpu) / n * 1e3, (time.perf_counter() - wall) / n * 1e3


async def run(url: str, calls: int, rounds: int) -> dict[str, Any]:
    sdk = anthropic.AsyncAnthropic(api_key="bench", base_url=url, max_retries=0)
    ours = AnthropicProvider("bench", base_url=url)
    decode = msgspec.json.Decoder(dict[str, Any]).decode

    async def through_sdk() -> None:  # the pre-0071 path: the SDK sends, the raw lines are decoded here
        async with sdk.messages.with_streaming_response.create(**body("anthropic", REQUEST)) as response:
            async for line in response.iter_lines():
                if line.startswith("data:"):
                    decode(line[5:])

    async def through_ours() -> None:
        async for _event in ours.stream(REQUEST):
            pass

    figures: dict[str, list[tuple[float, float]]] = {"sdk": [], "ours": []}
    await timed(through_sdk, 30)
    await timed(through_ours, 30)
    for _ in range(rounds):
        figures["sdk"].append(await timed(through_sdk, calls))
        figures["ours"].append(await timed(through_ours, calls))
    return {
        name: {
            "cpu_ms_per_call": round(statistics.median(c for c, _ in runs), 3),
            "wall_ms_per_call": round(statistics.median(w for _, w in runs), 3),
        }
        for name, runs in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    fake = FakeLLMServer(port=free_port())
    fake.requests = []
    fake.set_default("anthropic", Script(text="Open Settings, then Security, and turn on 2FA.", chunks=5))
    fake.start()
    try:
        result = asyncio.run(run(fake.anthropic_base_url, args.calls, args.rounds))
    finally:
        fake.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
