"""Anthropic Messages API, streamed over a kept HTTP client; the official SDK only where its types are used.

A chat turn's call is one ``POST /v1/messages`` with ``stream: true`` on an ``httpx.AsyncClient`` built once per key,
with the headers the API documents (``x-api-key``, ``anthropic-version``), no retries of its own (the orchestrator's
policy decides), the SDK's timeouts and connection limits, and the proxy variables honoured (``trust_env``). The event
stream was already decoded here rather than by the SDK; the SDK's request path and its ~50 MB of types are no longer
loaded by a web process that only chats (docs/adr/0071-anthropic-calls-without-the-sdk-on-the-chat-path.md). The SDK is
still what lists models when an admin checks a key (``commands/ai/clients.py``), imported there on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from commands.ai import base
from commands.ai.errors import classify, kind_for_status, retry_after
from commands.ai.request import body
from domain.pricing import Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"  # the Messages API version the SDK sends (anthropic 2.x)
# as the SDK's own client: many concurrent streams to one host, keep-alive kept for the busy ones
LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
JSON_ACCEPT = {"accept": "application/json"}
ERROR_BODY_LIMIT = 64 * 1024  # an error answer is read for its status and headers; its body is not needed


class AnthropicProvider:
    """Streams Claude replies; a stream that ends without ``message_stop`` is a broken stream."""

    name = "anthropic"

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout_s: float = 30.0) -> None:
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
        self._headers = {
            "x-api-key": api_key,
            "anthropic-version": API_VERSION,
            "content-type": "application/json",
            "accept": "text/event-stream",
            "user-agent": "ChatAssist",
        }
        # one client per event loop: a pooled connection belongs to the loop that opened it (a web process has one
        # loop; `chatassist up` and the test servers run several, sharing these providers)
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._url = f"{base}/v1/messages"

    @property
    def http(self) -> httpx.AsyncClient:
        """The HTTP client of the running event loop, built at its first call there."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(
                timeout=self._timeout, limits=LIMITS, headers=self._headers
            )
        return client

    async def create(self, params: dict[str, Any]) -> dict[str, Any]:
        """One non-streamed Messages call (the decision judge's forced tool): the response's JSON object.

        Errors as for ``stream``: a status of 400 or more and transport errors become ``ProviderError``s."""
        try:
            response = await self.http.post(self._url, content=_encode(params), headers=JSON_ACCEPT)
        except Exception as exc:
            raise classify(exc, started=False) from exc
        if response.status_code >= 400:
            raise base.ProviderError(
                kind_for_status(response.status_code),
                f"HTTP {response.status_code}",
                retry_after=retry_after(response.headers),
            )
        return _decode(response.content)

    async def stream(self, request: base.PromptRequest) -> AsyncIterator[base.StreamEvent]:
        """Yield text deltas, then one Completed with the provider's usage.

        A status of 400 or more is classified by its code and ``retry-after`` header, as the SDK's status errors
        were; a transport error (connect, read timeout, a cut stream) by its kind (``commands.ai.errors.classify``).
        """
        params = body(self.name, request)  # exactly what is hashed on ModelCallMade (commands/ai/request.py)
        state = _StreamState(request.model)
        try:
            async with self.http.stream("POST", self._url, content=_encode(params)) as response:
                if response.status_code >= 400:
                    await _drain(response)
                    raise base.ProviderError(
                        kind_for_status(response.status_code),
                        f"HTTP {response.status_code}",
                        retry_after=retry_after(response.headers),
                    )
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        text = state.apply(_decode(line[5:]))
                        if text:
                            yield base.TextDelta(text)
        except Exception as exc:
            error = classify(exc, started=state.started)
            error.usage = state.usage
            raise error from exc
        if not state.finished:
            raise base.ProviderError(base.BROKEN_STREAM, "the stream ended before message_stop", usage=state.usage)
        yield base.Completed(state.usage, state.model, state.stop_reason)


_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


async def _drain(response: httpx.Response) -> None:
    """Read (and drop) at most ERROR_BODY_LIMIT bytes of an error answer, so the connection can be reused."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= ERROR_BODY_LIMIT:
            break


class _StreamState:
    """What the Messages stream has told us so far."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.started = False
        self.finished = False

    def apply(self, event: dict[str, Any]) -> str | None:
        """Fold one event in; returns the text of a text delta, raises ProviderError on an error event."""
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                self.started = True
                return str(delta["text"])
        elif kind == "message_start":
            message = event["message"]
            u = message.get("usage") or {}
            self.model = message.get("model") or self.model
            self.usage = Usage(
                u.get("input_tokens") or 0,
                u.get("output_tokens") or 0,
                u.get("cache_read_input_tokens") or 0,
                u.get("cache_creation_input_tokens") or 0,
            )
        elif kind == "message_delta":
            self.stop_reason = event.get("delta", {}).get("stop_reason")
            output = (event.get("usage") or {}).get("output_tokens")
            if output:
                self.usage = Usage(
                    self.usage.input_tokens, output, self.usage.cache_read_tokens, self.usage.cache_write_tokens
                )
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            error = event.get("error") or {}
            kinds: dict[str | None, str] = {"overloaded_error": base.OVERLOADED, "rate_limit_error": base.RATE_LIMITED}
            raise base.ProviderError(kinds.get(error.get("type"), base.SERVER_ERROR), str(error.get("message")))
        return None
