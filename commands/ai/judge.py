"""The LLM judge's call (issue 16, item 2): one structured request to the workspace's cheap model for a decision in
the uncertain band (domain/decisions/judge.py says which, and how the answer is read).

Anthropic answers through a forced tool (``record_decision``, whose input schema is the verdict); OpenAI through a
JSON-schema structured output. The call is timed out short (``timeout_s``), never retried, and always returns its
``ModelCall`` (cost included) so the chat turn records it as a ``ModelCallMade`` like any other. No verdict
(garbage, a refusal, a timeout, an error): ``verdict`` is None and ``error`` says why; the offline decision stands.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from commands.ai import base
from commands.ai.anthropic_provider import AnthropicProvider
from commands.ai.errors import classify
from commands.ai.openai_provider import OpenAIProvider
from domain.conversation import ModelCall
from domain.decisions import judge as policy
from domain.pricing import Usage, cost_usd

TIMEOUT_S = 4.0
MAX_TOKENS = 300
UNREADABLE, REFUSED = "unreadable", "refused"


@dataclass(frozen=True)
class Judged:
    """The judge's outcome: a verdict or the reason there is none, and the call to record."""

    verdict: policy.Verdict | None
    error: str | None
    call: ModelCall

    def failed_layer(self) -> dict[str, Any] | None:
        """The evidence layer of a failed judgement (None when there is a verdict)."""
        return None if self.error is None else policy.failed_layer(self.error, self.call.model)


def anthropic_body(model: str, messages: list[str], topics: list[str]) -> dict[str, Any]:
    """The Messages request: the verdict's schema as a tool the model must call."""
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": policy.SYSTEM,
        "messages": [{"role": "user", "content": policy.user_text(messages)}],
        "tools": [{"name": policy.TOOL, "description": "Record the decision.", "input_schema": policy.schema(topics)}],
        "tool_choice": {"type": "tool", "name": policy.TOOL},
    }


def openai_body(model: str, messages: list[str], topics: list[str]) -> dict[str, Any]:
    """The Chat Completions request: the verdict's schema as a strict structured output."""
    return {
        "model": model,
        "max_completion_tokens": MAX_TOKENS,
        "messages": [
            {"role": "system", "content": policy.SYSTEM.replace("through the record_decision tool", "as JSON")},
            {"role": "user", "content": policy.user_text(messages)},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": policy.TOOL, "schema": policy.schema(topics), "strict": True},
        },
    }


async def _anthropic(provider: AnthropicProvider, body: dict[str, Any]) -> tuple[object, Usage, str | None]:
    response = await provider.create(body)
    u = response.get("usage") or {}
    usage = Usage(
        u.get("input_tokens") or 0,
        u.get("output_tokens") or 0,
        u.get("cache_read_input_tokens") or 0,
        u.get("cache_creation_input_tokens") or 0,
    )
    if response.get("stop_reason") == "refusal":
        return None, usage, REFUSED
    blocks = [block for block in response.get("content") or [] if isinstance(block, dict)]
    for block in blocks:
        if block.get("type") == "tool_use" and block.get("name") == policy.TOOL:
            return block.get("input"), usage, None
    text = "".join(str(block.get("text") or "") for block in blocks)
    return text, usage, None  # a text answer: read as JSON if it is JSON (else unreadable)


async def _openai(provider: OpenAIProvider, body: dict[str, Any]) -> tuple[object, Usage, str | None]:
    response = await provider.client.chat.completions.create(**body)
    u = response.usage
    usage = Usage(u.prompt_tokens, u.completion_tokens) if u is not None else Usage()
    message = response.choices[0].message if response.choices else None
    if message is None or message.refusal:
        return None, usage, REFUSED
    return message.content or "", usage, None


async def ask(
    provider: base.Provider,
    model: str,
    messages: list[str],
    topics: list[str],
    *,
    prompt_version: int = 0,
    timeout_s: float = TIMEOUT_S,
) -> Judged:
    """Ask ``model`` on ``provider`` (Anthropic or OpenAI) for a verdict on the visitor's ``messages``."""
    if isinstance(provider, AnthropicProvider):
        body, call = anthropic_body(model, messages, topics), _anthropic
    elif isinstance(provider, OpenAIProvider):
        body, call = openai_body(model, messages, topics), _openai  # type: ignore[assignment]
    else:
        raise ValueError(f"the judge needs an Anthropic or OpenAI provider, not {provider.name}")
    started = time.perf_counter()
    usage, verdict, error, kind = Usage(), None, None, None
    try:
        answer, usage, error = await asyncio.wait_for(call(provider, body), timeout_s)  # type: ignore[arg-type]
        if error is None:
            verdict = policy.parse(answer, topics, model)
    except policy.Unreadable:
        error = UNREADABLE
    except TimeoutError:
        error = kind = base.TIMEOUT
    except Exception as exc:  # the SDK's errors, classified like the chat's (auth, rate limit, server, timeout)
        error = kind = classify(exc, started=False).kind
    made = ModelCall(
        call_id=str(uuid4()),
        provider=provider.name,
        model=model,
        prompt_version=prompt_version,
        attempt=1,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        ttft_ms=None,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        cost_usd=cost_usd(model, usage),
        outcome="ok" if kind is None else "error",
        error_kind=kind,
        request_sha256=None,  # the audit replay rebuilds the chat's requests, not the judge's: "not recorded"
    )
    return Judged(verdict, error, made)
