"""OpenAI Chat Completions, streamed with usage through the official SDK with its own retries off.

The SDK is imported when the first client is built (an OpenAI key in the environment: at start-up; a workspace's
own key: at its first turn), not with this module: a process with no OpenAI key never holds its ~13 MB of types
(docs/adr/0062-lean-web-process.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from commands.ai import base
from commands.ai.errors import classify
from commands.ai.request import body
from domain.pricing import Usage


class OpenAIProvider:
    """Streams GPT replies; a stream without ``finish_reason`` and the usage chunk is a broken stream."""

    name = "openai"

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout_s: float = 30.0) -> None:
        import openai

        self.client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=openai.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        )

    async def stream(self, request: base.PromptRequest) -> AsyncIterator[base.StreamEvent]:
        """Yield text deltas, then one Completed with the provider's usage."""
        params = body(self.name, request)  # exactly what is hashed on ModelCallMade (commands/ai/request.py)
        usage: Usage | None = None
        finish_reason: str | None = None
        model = request.model
        started = False
        try:
            stream = await self.client.chat.completions.create(**params)
            async with stream:
                async for chunk in stream:
                    model = chunk.model or model
                    for choice in chunk.choices:
                        if choice.delta.content:
                            started = True
                            yield base.TextDelta(choice.delta.content)
                        if choice.finish_reason:
                            finish_reason = choice.finish_reason
                    if chunk.usage is not None:
                        u = chunk.usage
                        details = u.prompt_tokens_details
                        cached = (details.cached_tokens or 0) if details is not None else 0
                        usage = Usage(u.prompt_tokens - cached, u.completion_tokens, cached, 0)
        except Exception as exc:
            raise classify(exc, started=started) from exc
        if finish_reason is None or usage is None:
            raise base.ProviderError(base.BROKEN_STREAM, "the stream ended before finish_reason and usage")
        yield base.Completed(usage, model, finish_reason)
