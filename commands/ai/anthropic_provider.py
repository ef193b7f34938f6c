"""Anthropic Messages API, streamed through the official SDK with its own retries off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic

from commands.ai import base
from commands.ai.errors import classify
from commands.ai.prompt import anthropic_params
from domain.pricing import Usage


class AnthropicProvider:
    """Streams Claude replies; a stream that ends without ``message_stop`` is a broken stream."""

    name = "anthropic"

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout_s: float = 30.0) -> None:
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=anthropic.Timeout(timeout_s, connect=min(5.0, timeout_s)),
        )

    async def stream(self, request: base.PromptRequest) -> AsyncIterator[base.StreamEvent]:
        """Yield text deltas, then one Completed with the provider's usage."""
        system, messages = anthropic_params(request.system, request.examples, request.history)
        usage = Usage()
        stop_reason: str | None = None
        model = request.model
        started = False
        finished = False
        try:
            stream = await self.client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                system=system,  # type: ignore[arg-type]
                messages=messages,
                stream=True,  # type: ignore[arg-type]
            )
            async with stream:
                async for event in stream:
                    if event.type == "message_start":
                        u = event.message.usage
                        model = event.message.model
                        usage = Usage(
                            u.input_tokens or 0,
                            u.output_tokens or 0,
                            u.cache_read_input_tokens or 0,
                            u.cache_creation_input_tokens or 0,
                        )
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        started = True
                        yield base.TextDelta(event.delta.text)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason
                        usage = Usage(
                            usage.input_tokens,
                            event.usage.output_tokens or usage.output_tokens,
                            usage.cache_read_tokens,
                            usage.cache_write_tokens,
                        )
                    elif event.type == "message_stop":
                        finished = True
        except Exception as exc:
            error = classify(exc, started=started)
            error.usage = usage
            raise error from exc
        if not finished:
            raise base.ProviderError(base.BROKEN_STREAM, "the stream ended before message_stop", usage=usage)
        yield base.Completed(usage, model, stop_reason)
