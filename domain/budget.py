"""The monthly token budget policy."""

from __future__ import annotations

from dataclasses import dataclass

from domain.workspace import WorkspaceSettings


@dataclass(frozen=True)
class BudgetDecision:
    """``refuse`` True means no model may be called; else ``model`` is the primary to use."""

    refuse: bool
    model: str
    over_budget: bool


def decide_budget(settings: WorkspaceSettings, tokens_used_this_month: int) -> BudgetDecision:
    """A budget of 0 means unlimited. Over budget: refuse, or switch to the cheaper budget model."""
    over = settings.monthly_token_budget > 0 and tokens_used_this_month >= settings.monthly_token_budget
    if not over:
        return BudgetDecision(False, settings.primary_model, False)
    if settings.over_budget == "cheaper_model":
        return BudgetDecision(False, settings.budget_model, True)
    return BudgetDecision(True, settings.primary_model, True)
