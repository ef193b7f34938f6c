"""GetPerformance: per prompt version or per model, how the conversations started in a range went and what they cost.

A conversation counts for the prompt version of its last reply or model call (the version in force on its last
answered turn; an escalation's holding reply records it too, since the escalation rules are part of the version)
and for the model of its last reply a model wrote (else of its last model call; none when no model was called).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import (
    AI_RESOLVED,
    AnalyticsSource,
    DateRange,
    date_range,
    money,
    ratio,
    with_facts,
)
from read_api._reads import Planned, Reads, Rows, drive, run

PRECISION = Decimal("0.00000001")
GROUPS = {
    "prompt_version": ("prompt_version", "prompt_version NULLS LAST"),
    "model": (
        "coalesce(ai_provider, call_provider) AS provider, coalesce(ai_model, call_model) AS model",
        "n DESC, provider NULLS LAST, model",
    ),
}


class Figures(msgspec.Struct, kw_only=True):
    """How one group's conversations went. Rates and averages are null with nothing to divide."""

    conversations: int
    finished: int
    ai_resolved: int
    resolution_rate: float | None  # AI-resolved / finished
    escalated: int
    escalation_rate: float | None  # escalated / conversations
    avg_confidence: float | None  # mean confidence of the replies a model wrote
    avg_csat: float | None
    rated: int
    cost_usd: Decimal
    unknown_cost_calls: int
    cost_per_conversation: Decimal | None
    cost_per_ai_resolved: Decimal | None  # the group's whole cost / its AI-resolved conversations


class VersionRow(Figures, kw_only=True):
    """The conversations that count for one prompt version (null: no reply or model call yet)."""

    prompt_version: int | None


class ModelRow(Figures, kw_only=True):
    """The conversations that count for one model (null: no model was called, e.g. escalated at once)."""

    provider: str | None
    model: str | None


class ByPromptVersion(msgspec.Struct):
    """Per prompt version (oldest first), over the conversations started in the range (workspace time zone)."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    time_zone: str = "UTC"
    by: str = "prompt_version"
    rows: list[VersionRow] = msgspec.field(default_factory=list)


class ByModel(msgspec.Struct):
    """Per model (most conversations first), over the conversations started in the range (workspace time zone)."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    time_zone: str = "UTC"
    by: str = "model"
    rows: list[ModelRow] = msgspec.field(default_factory=list)


Performance = ByPromptVersion | ByModel


def _per(cost: Decimal, count: int) -> Decimal | None:
    return money((cost / count).quantize(PRECISION)) if count else None


def _figures(r: dict[str, Any]) -> dict[str, Any]:
    n, finished, resolved, escalated = (int(r[k]) for k in ("n", "finished", "resolved", "escalated"))
    cost = Decimal(r["cost"] or 0)
    return {
        "conversations": n,
        "finished": finished,
        "ai_resolved": resolved,
        "resolution_rate": ratio(resolved, finished),
        "escalated": escalated,
        "escalation_rate": ratio(escalated, n),
        "avg_confidence": ratio(r["confidence"], r["ai_replies"]),
        "avg_csat": r["avg_csat"],
        "rated": int(r["rated"]),
        "cost_usd": money(cost),
        "unknown_cost_calls": int(r["unknown"]),
        "cost_per_conversation": _per(cost, n),
        "cost_per_ai_resolved": _per(cost, resolved),
    }


def get_performance_between(
    view: AnalyticsSource, workspace_id: UUID, by: str, start: str | None, end: str | None
) -> Performance:
    """``get_performance`` over ``from``/``to`` as given (validated in the workspace's zone and retention)."""
    return drive(view, performance_between(workspace_id, by, start, end))


def performance_between(workspace_id: UUID, by: str, start: str | None, end: str | None) -> Reads[Performance]:
    """The read of ``get_performance_between``, for either driver (read_api/_reads.py)."""
    return with_facts(
        workspace_id, lambda facts: plan_performance(workspace_id, by, date_range(start, end, facts=facts))
    )


def get_performance(view: AnalyticsSource, workspace_id: UUID, by: str, days: DateRange) -> Performance:
    """One row per prompt version (oldest first) or per model (most conversations first)."""
    return run(view, plan_performance(workspace_id, by, days))


def plan_performance(workspace_id: UUID, by: str, days: DateRange) -> Planned[Performance]:
    """The read of ``get_performance`` and how its rows make the figures."""
    select, order = GROUPS[by]
    sql = (
        f"SELECT {select}, count(*) AS n, count(*) FILTER (WHERE status <> 'open') AS finished,"
        f" count(*) FILTER (WHERE {AI_RESOLVED}) AS resolved, count(*) FILTER (WHERE escalations > 0) AS escalated,"
        " sum(ai_confidence_sum) AS confidence, sum(ai_replies) AS ai_replies, avg(csat)::float AS avg_csat,"
        " count(csat) AS rated, sum(cost_usd) AS cost, sum(unknown_cost_calls) AS unknown"
        f" FROM {CONVERSATIONS} WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s"
        f" GROUP BY 1{', 2' if by == 'model' else ''} ORDER BY {order}"
    )
    params = {"ws": workspace_id, "since": days.since, "until": days.until}
    return Planned([(sql, params)], lambda rows: _performance(by, days, rows[0]))


def _performance(by: str, days: DateRange, rows: Rows) -> Performance:
    if by == "prompt_version":
        versions = [VersionRow(prompt_version=r["prompt_version"], **_figures(r)) for r in rows]
        return ByPromptVersion(days.start, days.end, days.time_zone, by, versions)
    models = [ModelRow(provider=r["provider"], model=r["model"], **_figures(r)) for r in rows]
    return ByModel(days.start, days.end, days.time_zone, by, models)
