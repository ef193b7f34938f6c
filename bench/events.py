"""Fill an event store quickly with realistic ChatAssist events, written as aggregates through the app in bulk.

Workspaces are created by the CreateWorkspace command (their founding events feed the audit log); conversations are
real ``Conversation`` aggregates driven through their methods (visitor messages, model calls with tokens and cost,
an OpenAI fallback now and then, replies with topic and confidence, failed turns, resolutions, closes, CSAT), saved
many per transaction with ``app.save``. The event mix is that of the chat path: per turn a visitor message, one or
two model calls and a reply.
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal

from commands.application import ChatAssistApp
from commands.create_workspace import cmd as create_ws
from domain.conversation import Conversation, ModelCall

TOPICS = ("billing", "login", "shipping", "refunds", "integrations", "account", "other")


def _call(rng: random.Random, n: int, attempt: int, outcome: str, provider: str, model: str) -> ModelCall:
    tokens_in, tokens_out = rng.randint(300, 3000), rng.randint(20, 600)
    cost = Decimal(tokens_in * 3 + tokens_out * 15) / Decimal(1_000_000)
    return ModelCall(
        call_id=f"call-{n}-{attempt}",
        provider=provider,
        model=model,
        prompt_version=1,
        attempt=attempt,
        input_tokens=tokens_in,
        output_tokens=tokens_out if outcome == "ok" else 0,
        cache_read_tokens=rng.choice((0, 0, 1024)),
        cache_write_tokens=0,
        ttft_ms=round(rng.uniform(150, 900), 1) if outcome == "ok" else None,
        latency_ms=round(rng.uniform(400, 4000), 1),
        cost_usd=cost if outcome == "ok" or rng.random() < 0.5 else None,
        outcome=outcome,
        error_kind=None if outcome == "ok" else "overloaded",
    )


def conversation(rng: random.Random, workspace_id: uuid.UUID, n: int) -> Conversation:
    """One conversation of 1-6 turns with its model calls, then maybe resolved, rated and closed."""
    c = Conversation(workspace_id, "widget", {"user_id": f"visitor-{n}", "email": None, "name": None})
    for turn in range(rng.randint(1, 6)):
        asked = f"m-{n}-{turn}"
        c.receive(asked, f"Question {turn} of visitor {n}: how do I change my plan?")
        if rng.random() < 0.03:
            c.record_model_call(asked, _call(rng, n, 1, "error", "anthropic", "claude-sonnet-4-5"))
            c.fail_turn(asked, "provider_unavailable", "every provider failed")
            continue
        provider, model = "anthropic", "claude-sonnet-4-5"
        if rng.random() < 0.05:
            c.record_model_call(asked, _call(rng, n, 1, "fell_back", provider, model))
            provider, model = "openai", "gpt-4.1-mini"
        c.record_model_call(asked, _call(rng, n, 2 if provider == "openai" else 1, "ok", provider, model))
        c.reply(
            f"r-{n}-{turn}",
            asked,
            "You can change your plan under Settings, Billing.",
            confidence=round(rng.uniform(0.3, 1.0), 3),
            topic=rng.choice(TOPICS),
            provider=provider,
            model=model,
            prompt_version=1,
        )
    if rng.random() < 0.6:
        c.resolve("ai")
    if rng.random() < 0.3:
        c.rate(rng.randint(1, 5), None)
    if rng.random() < 0.7:
        c.close("idle")
    return c


def fill(app: ChatAssistApp, events: int, *, workspaces: int = 20, per_save: int = 200, seed: int = 1) -> int:
    """Write at least ``events`` events; returns the number written."""
    rng = random.Random(seed)
    ids = [create_ws.execute(app, create_ws.CreateWorkspace(f"Bench {i}")).workspace_id for i in range(workspaces)]
    written = app.recorder.max_notification_id() or 0
    n = 0
    while written < events:
        batch = [conversation(rng, rng.choice(ids), n + i) for i in range(per_save)]
        n += per_save
        app.save(*batch)
        written += sum(c.version for c in batch)
    return written
