"""Prometheus metrics of the chat turn: turns by outcome, model calls (count, latency, tokens, cost) by provider,
model and outcome, escalations by rule. Labels name no workspace, visitor or conversation (docs/operations.md,
"Metrics and logs"): only fixed sets of words and model names, the latter capped per process."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

from domain.conversation import ModelCall

log = logging.getLogger("chatassist.turn")

TURNS = Counter(
    "chatassist_chat_turns",
    "Chat turns answered, by outcome: answered (by a model or the offline answerer), escalated (by a rule, no model"
    " call), human (a person handles the chat), budget_exhausted, providers_unavailable.",
    ["outcome"],
)
MODEL_CALLS = Counter(
    "chatassist_model_calls",
    "Model calls (each attempt), by provider, model and outcome.",
    ["provider", "model", "outcome"],
)
MODEL_LATENCY = Histogram(
    "chatassist_model_call_duration_seconds",
    "Duration of each model call, to its last byte, by provider, model and outcome.",
    ["provider", "model", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
MODEL_TOKENS = Counter(
    "chatassist_model_tokens", "Tokens of model calls, by provider, model and kind.", ["provider", "model", "kind"]
)
MODEL_COST = Counter(
    "chatassist_model_cost_usd", "Cost in US dollars of model calls whose price is known.", ["provider", "model"]
)
ESCALATIONS = Counter(
    "chatassist_escalations",
    "Escalation decisions of chat turns, by rule and action (escalate: handed to a person; offer: offered).",
    ["rule", "action"],
)

MAX_MODELS = 50  # distinct model names labelled per process; more are counted as "other"
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,79}")
_models: set[str] = set()
_models_lock = threading.Lock()


def model_label(name: str) -> str:
    """``name`` as a label value, or ``other`` when it is not a plain model name or the cap is reached (an admin
    types model names: a label per name must not grow without bound)."""
    if name in _models:
        return name
    if not _MODEL_NAME.fullmatch(name):
        return "other"
    with _models_lock:
        if len(_models) >= MAX_MODELS:
            return "other"
        _models.add(name)
    return name


def observe_calls(calls: Iterable[ModelCall]) -> None:
    """Count each model call of a turn."""
    for call in calls:
        provider, model = call.provider, model_label(call.model)
        MODEL_CALLS.labels(provider, model, call.outcome).inc()
        MODEL_LATENCY.labels(provider, model, call.outcome).observe(max(call.latency_ms, 0.0) / 1000)
        for kind in ("input", "output", "cache_read", "cache_write"):
            tokens = getattr(call, f"{kind}_tokens")
            if tokens:
                MODEL_TOKENS.labels(provider, model, kind).inc(tokens)
        if call.cost_usd is not None and call.cost_usd > 0:
            MODEL_COST.labels(provider, model).inc(float(call.cost_usd))


def observe_turn(
    conversation_id: object, outcome: str, calls: Iterable[ModelCall] = (), escalation: tuple[str, str] | None = None
) -> None:
    """Count a finished turn, its model calls and its escalation (rule, action); log it (with the request id, in
    JSON logs: chatassist/observability.py). The conversation id goes to the log line, never to a label."""
    calls = list(calls)
    TURNS.labels(outcome).inc()
    observe_calls(calls)
    if escalation is not None:
        ESCALATIONS.labels(*escalation).inc()
    log.info(
        "chat turn of conversation %s: %s, %d model call(s)%s",
        conversation_id,
        outcome,
        len(calls),
        f", escalation {escalation[1]} by rule {escalation[0]}" if escalation else "",
    )
