"""Retries with backoff and jitter, fallback across providers, and a record of every attempt.

Policy (see docs/adr/0003-retries-and-fallback.md): each route (provider + model) gets up to
``attempts`` tries for retryable errors; a rate limit or overload moves straight to the next
route when there is one; a non-retryable error (auth, bad request) moves on at once. If an
attempt fails after text was streamed, a ``Restart`` tells the client to discard that text. The model's
self-assessment trailer is stripped from the deltas of each attempt (``commands.ai.trailer``) and handed over on
``Finished``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from uuid import uuid4

from commands.ai import base
from commands.ai import request as provider_request
from commands.ai.errors import classify
from commands.ai.trailer import TrailerFilter
from domain.assessment import SelfAssessment
from domain.conversation import ModelCall
from domain.knowledge import parse_sources
from domain.pricing import Usage, cost_usd


@dataclass(frozen=True)
class Route:
    """One provider and the model to ask it for."""

    provider: base.Provider
    model: str


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on a route."""

    attempts: int = 3
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    fallback_at_once_on: frozenset[str] = field(default_factory=lambda: frozenset({base.OVERLOADED, base.RATE_LIMITED}))

    def delay(self, attempt: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        """Exponential backoff with jitter in [0.5, 1.5); a provider's Retry-After wins, capped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        return min(self.base_delay_s * 2.0 ** (attempt - 1), self.max_delay_s) * (0.5 + rng())


@dataclass(frozen=True)
class Restart:
    """The text streamed so far is void; the answer starts again from this route."""

    reason: str
    provider: str
    model: str


@dataclass(frozen=True)
class Finished:
    """A complete answer (without its trailer) and every attempt it took."""

    text: str
    provider: str
    model: str
    calls: list[ModelCall]
    assessment: SelfAssessment = field(default_factory=SelfAssessment)
    sources: list[str] = field(default_factory=list)  # article ids the trailer's <sources> tag names


@dataclass(frozen=True)
class GaveUp:
    """No route produced a complete answer."""

    calls: list[ModelCall]
    kind: str
    message: str


OrchestratorEvent = base.TextDelta | Restart | Finished | GaveUp


def _call(
    route: Route,
    attempt: int,
    prompt_version: int,
    usage: Usage,
    started: float,
    ttft: float | None,
    outcome: str,
    kind: str | None,
    request_sha256: str | None,
) -> ModelCall:
    return ModelCall(
        call_id=str(uuid4()),
        provider=route.provider.name,
        model=route.model,
        prompt_version=prompt_version,
        attempt=attempt,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        ttft_ms=None if ttft is None else round((ttft - started) * 1000, 3),
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        cost_usd=cost_usd(route.model, usage),
        outcome=outcome,
        error_kind=kind,
        request_sha256=request_sha256,
    )


async def orchestrate(
    routes: list[Route],
    make_request: Callable[[str], base.PromptRequest],
    *,
    prompt_version: int,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: Callable[[], float] = random.random,
) -> AsyncGenerator[OrchestratorEvent, None]:
    """Stream one answer over ``routes`` in order; ends with exactly one Finished or GaveUp."""
    policy = policy or RetryPolicy()
    calls: list[ModelCall] = []
    attempt_no = 0
    last = base.ProviderError(base.NOT_CONFIGURED, "no AI provider is configured")
    for index, route in enumerate(routes):
        has_next = index < len(routes) - 1
        for tries in range(1, policy.attempts + 1):
            attempt_no += 1
            started, ttft, parts = time.perf_counter(), None, []
            completed: base.Completed | None = None
            trailer = TrailerFilter()
            request = make_request(route.model)
            digest = provider_request.sha256(route.provider.name, request)
            try:
                async for event in route.provider.stream(request):
                    if isinstance(event, base.TextDelta):
                        ttft = ttft or time.perf_counter()
                        visible = trailer.feed(event.text)
                        if visible:
                            parts.append(visible)
                            yield base.TextDelta(visible)
                    else:
                        completed = event
                if completed is None:
                    raise base.ProviderError(base.BROKEN_STREAM, "the provider stream ended without completing")
            except Exception as exc:
                last = classify(exc, started=ttft is not None)
                move_on = (
                    not last.retryable
                    or tries == policy.attempts
                    or (last.kind in policy.fallback_at_once_on and has_next)
                )
                outcome = "fell_back" if move_on and has_next else "error"
                calls.append(
                    _call(route, attempt_no, prompt_version, last.usage, started, ttft, outcome, last.kind, digest)
                )
                nxt = routes[index + 1] if move_on and has_next else route
                if parts and (has_next or not move_on):
                    yield Restart(last.kind, nxt.provider.name, nxt.model)
                if move_on:
                    break
                await sleep(policy.delay(tries, last.retry_after, rng))
                continue
            calls.append(_call(route, attempt_no, prompt_version, completed.usage, started, ttft, "ok", None, digest))
            trailer.close()
            sources = parse_sources(trailer.trailer)
            yield Finished("".join(parts), route.provider.name, route.model, calls, trailer.assessment, sources)
            return
    yield GaveUp(calls, last.kind, last.message)
