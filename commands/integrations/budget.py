"""Announce the monthly token budget's thresholds (80 %, 95 %, 100 %), once per month each, as events that the
integrations deliver as ``budget.threshold`` webhooks."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from commands._common import load
from commands._lazy import save_with_retries
from commands.application import ChatAssistApp
from commands.integrations.webhooks import load_or_new
from domain.integrations import BUDGET_THRESHOLDS, Integrations
from domain.workspace import Workspace


def crossed(tokens_used: int, budget: int) -> list[int]:
    """The thresholds that ``tokens_used`` has reached (none for an unlimited budget of 0)."""
    if budget <= 0:
        return []
    return [p for p in BUDGET_THRESHOLDS if tokens_used * 100 >= budget * p]


def announce(app: ChatAssistApp, workspace_id: UUID, tokens_used: int, now: datetime) -> list[int]:
    """Record each threshold reached this month and not announced yet; returns those recorded now."""
    budget = load(app, workspace_id, Workspace, "workspace", read_only=True).settings.monthly_token_budget
    reached = crossed(tokens_used, budget)
    if not reached:
        return []
    month = now.strftime("%Y-%m")
    recorded: list[int] = []

    def attempt() -> list[Integrations]:
        integrations = load_or_new(app, workspace_id)
        recorded[:] = [p for p in reached if integrations.record_budget_threshold(month, p, tokens_used, budget)]
        return [integrations] if recorded else []

    save_with_retries(app, "integrations", attempt)
    return recorded
