"""The Anthropic client keeps one HTTP client per event loop (ADR 0071): a provider shared by servers that each run
their own loop (`chatassist up`, the test servers) never reuses a connection another loop opened."""

from __future__ import annotations

import asyncio

from commands.ai import base
from commands.ai.anthropic_provider import AnthropicProvider
from tests.fakes.llm_server import FakeLLMServer, Script

REQUEST = base.PromptRequest(model="claude-haiku-4-5", system="s", examples=[], history=[], max_tokens=50)


async def answer(provider: AnthropicProvider) -> str:
    return "".join([e.text async for e in provider.stream(REQUEST) if isinstance(e, base.TextDelta)])


def test_one_provider_answers_from_two_event_loops_in_turn(fake_llm: FakeLLMServer) -> None:
    # Given one provider, and a first loop that leaves a kept-alive connection in its pool, then closes
    provider = AnthropicProvider("k", base_url=fake_llm.anthropic_base_url, timeout_s=5)
    fake_llm.enqueue("anthropic", Script(text="first"), Script(text="second"), Script(text="third"))
    assert asyncio.run(answer(provider)) == "first"
    # When a second loop, and then a third, call the same provider
    # I expect each answered on its own connection: no attempt fails on the closed loop's connection
    assert asyncio.run(answer(provider)) == "second"
    assert asyncio.run(answer(provider)) == "third"
    assert len(fake_llm.requests_for("anthropic")) == 3
