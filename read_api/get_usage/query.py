"""GetUsage: tokens, cost, volume and resolution of a workspace over a range of days (in its time zone), by model and
provider."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import (
    AI_RESOLVED,
    AnalyticsSource,
    DateRange,
    change,
    date_range,
    midnight,
    money,
    ratio,
    usage_table,
    with_facts,
)
from read_api._reads import Planned, Reads, Rows, Statement, drive, run

CENTS_PRECISION = Decimal("0.00000001")


class Tokens(msgspec.Struct):
    """Token counts by kind, as the providers reported them."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    total: int


class Breakdown(msgspec.Struct):
    """Model calls of one provider (and model, in ``by_model``)."""

    provider: str
    model: str | None
    calls: int
    fallbacks: int
    tokens: Tokens
    cost_usd: Decimal
    unknown_cost_calls: int
    fallback_rate: float | None = None
    """The share of its calls made as a fallback (after another provider or model failed)."""


class Day(msgspec.Struct):
    """One day (the workspace's zone): conversations started (and AI-resolved of those), tokens and cost of the model
    calls made that day."""

    day: date
    conversations: int
    resolved: int
    tokens: int
    cost_usd: Decimal


class Totals(msgspec.Struct):
    """The headline figures of a period: tokens, cost, conversations and cost per conversation."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    conversations: int = 0
    cost_per_conversation: Decimal | None = None


class Changes(msgspec.Struct):
    """Each headline figure against the previous period of the same length, as a fraction (0.23: 23% more;
    None when the previous period had none of it)."""

    tokens: float | None = None
    cost_usd: float | None = None
    conversations: float | None = None
    cost_per_conversation: float | None = None


class Usage(msgspec.Struct):
    """Usage and cost analytics of a range of days (inclusive). ``ai_resolved`` of ``finished`` conversations make
    the resolution rate; ``previous`` is the period of the same length just before, ``changes`` the headline
    figures against it."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    tokens: Tokens = msgspec.field(default_factory=lambda: Tokens(0, 0, 0, 0, 0))
    cost_usd: Decimal = Decimal(0)
    unknown_cost_calls: int = 0
    model_calls: int = 0
    conversations: int = 0
    cost_per_conversation: Decimal | None = None
    resolution_rate: float | None = None
    fallback_rate: float | None = None
    daily: list[Day] = msgspec.field(default_factory=list)
    by_model: list[Breakdown] = msgspec.field(default_factory=list)
    by_provider: list[Breakdown] = msgspec.field(default_factory=list)
    ai_resolved: int = 0
    finished: int = 0
    previous: Totals | None = None
    changes: Changes = msgspec.field(default_factory=Changes)


def _tokens(row: dict[str, Any]) -> Tokens:
    i, o, cr, cw = (int(row[k] or 0) for k in ("i", "o", "cr", "cw"))
    return Tokens(i, o, cr, cw, i + o + cr + cw)


def _breakdown(rows: list[dict[str, Any]], model: bool) -> list[Breakdown]:
    return [
        Breakdown(
            r["provider"],
            r["model"] if model else None,
            int(r["calls"]),
            int(r["fallbacks"]),
            _tokens(r),
            money(r["cost"]),
            int(r["unknown"]),
            ratio(int(r["fallbacks"]), int(r["calls"])),
        )
        for r in rows
    ]


SUMS = (
    "sum(calls) AS calls, sum(fallbacks) AS fallbacks, sum(first_attempts) AS first_attempts,"
    " sum(input_tokens) AS i, sum(output_tokens) AS o, sum(cache_read_tokens) AS cr, sum(cache_write_tokens) AS cw,"
    " sum(cost_usd) AS cost, sum(unknown_cost_calls) AS unknown"
)


def _per_provider(by_model: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-model sums added up per provider, in provider order."""
    out: dict[str, dict[str, Any]] = {}
    for r in by_model:
        row = out.setdefault(r["provider"], {"provider": r["provider"], "model": None})
        for k in ("calls", "fallbacks", "first_attempts", "i", "o", "cr", "cw", "cost", "unknown"):
            row[k] = row.get(k, 0) + (r[k] or 0)
    return [out[p] for p in sorted(out)]


def get_usage_between(view: AnalyticsSource, workspace_id: UUID, start: str | None, end: str | None) -> Usage:
    """Usage of one workspace over ``from``/``to`` as given (validated in its time zone and retention window)."""
    return drive(view, usage_between(workspace_id, start, end))


def usage_between(workspace_id: UUID, start: str | None, end: str | None) -> Reads[Usage]:
    """The read of ``get_usage_between``, for either driver (read_api/_reads.py)."""
    return with_facts(workspace_id, lambda facts: plan_usage(workspace_id, date_range(start, end, facts=facts)))


def get_usage(view: AnalyticsSource, workspace_id: UUID, days: DateRange) -> Usage:
    """Usage of one workspace over ``days``; conversations count on the day they started."""
    return run(view, plan_usage(workspace_id, days))


def plan_usage(workspace_id: UUID, days: DateRange) -> Planned[Usage]:
    """The two reads of ``get_usage`` (sent together) and how they make the figures."""
    params = {"ws": workspace_id, "tz": days.time_zone, "since": days.since, "until": days.until}
    table = usage_table(days.time_zone, days.start, days.end)
    where = f"FROM {table} WHERE workspace_id = %(ws)s AND slot >= %(since)s AND slot < %(until)s"
    # one scan of the rollup: rows per (provider, model) and per local day
    grouped = (
        "SELECT provider, model, (slot AT TIME ZONE %(tz)s)::date AS day, GROUPING(provider, model) AS per_day,"
        f" {SUMS}, sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens {where}"
        " GROUP BY GROUPING SETS ((provider, model), ((slot AT TIME ZONE %(tz)s)::date))"
    )
    # one index range per local day (its first instant to the next day's), so no row needs its day computed
    starts = [midnight(d, days.time_zone) for d in days.days]
    bounds = {"ws": workspace_id, "starts": starts, "ends": [*starts[1:], days.until]}
    convs = (
        f"SELECT d.n AS day, c.* FROM unnest(%(starts)s::timestamptz[], %(ends)s::timestamptz[]) WITH ORDINALITY"
        f" AS d(since, until, n) CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE {AI_RESOLVED})"
        " AS resolved, count(*) FILTER (WHERE status <> 'open') AS finished, sum(cost_usd) AS cost"
        f" FROM {CONVERSATIONS} WHERE workspace_id = %(ws)s AND started_at >= d.since AND started_at < d.until) c"
    )
    length = timedelta(days=len(days.days))
    before = DateRange(days.start - length, days.start - timedelta(days=1), days.time_zone)
    old = {"ws": workspace_id, "since": before.since, "until": before.until}
    previous_usage = (
        "SELECT sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens,"
        f" sum(cost_usd) AS cost FROM {usage_table(days.time_zone, before.start, before.end)}"
        " WHERE workspace_id = %(ws)s AND slot >= %(since)s AND slot < %(until)s"
    )
    previous_convs = (
        f"SELECT count(*) AS n, sum(cost_usd) AS cost FROM {CONVERSATIONS}"
        " WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s"
    )
    statements: list[Statement] = [(grouped, params), (convs, bounds), (previous_usage, old), (previous_convs, old)]
    return Planned(statements, lambda rows: _usage(days, rows[0], rows[1], _totals(before, rows[2][0], rows[3][0])))


def _per_conversation(cost: Decimal, conversations: int) -> Decimal | None:
    return money((cost / conversations).quantize(CENTS_PRECISION)) if conversations else None


def _totals(days: DateRange, usage: dict[str, Any], convs: dict[str, Any]) -> Totals:
    n = int(convs["n"] or 0)
    return Totals(
        days.start,
        days.end,
        int(usage["tokens"] or 0),
        money(usage["cost"]),
        n,
        _per_conversation(Decimal(convs["cost"] or 0), n),
    )


def _usage(days: DateRange, grouped: Rows, per_day: Rows, previous: Totals) -> Usage:
    convs = [{**r, "day": days.days[int(r["day"]) - 1]} for r in per_day if r["n"]]
    by_model = sorted((r for r in grouped if not r["per_day"]), key=lambda r: (r["provider"], r["model"]))
    by_day = [r for r in grouped if r["per_day"]]
    by_provider = _per_provider(by_model)
    total = {k: sum(int(r[k] or 0) for r in by_provider) for k in ("i", "o", "cr", "cw", "calls", "unknown")}
    fallbacks = sum(int(r["fallbacks"]) for r in by_provider)
    first_attempts = sum(int(r["first_attempts"]) for r in by_provider)
    conversations = sum(int(r["n"]) for r in convs)
    conversation_cost = sum((Decimal(r["cost"] or 0) for r in convs), Decimal(0))
    usage_day = {r["day"]: r for r in by_day}
    conv_day = {r["day"]: r for r in convs}
    tokens = _tokens(total)
    cost = money(sum((Decimal(r["cost"] or 0) for r in by_provider), Decimal(0)))
    per_conversation = _per_conversation(conversation_cost, conversations)
    ai_resolved, finished = sum(int(r["resolved"]) for r in convs), sum(int(r["finished"]) for r in convs)
    return Usage(
        start=days.start,
        end=days.end,
        tokens=tokens,
        cost_usd=cost,
        unknown_cost_calls=total["unknown"],
        model_calls=total["calls"],
        conversations=conversations,
        cost_per_conversation=per_conversation,
        resolution_rate=ratio(ai_resolved, finished),
        fallback_rate=ratio(fallbacks, first_attempts),
        daily=[
            Day(
                d,
                int(conv_day[d]["n"]) if d in conv_day else 0,
                int(conv_day[d]["resolved"]) if d in conv_day else 0,
                int(usage_day[d]["tokens"] or 0) if d in usage_day else 0,
                money(usage_day[d]["cost"]) if d in usage_day else Decimal(0),
            )
            for d in days.days
        ],
        by_model=_breakdown(by_model, model=True),
        by_provider=_breakdown(by_provider, model=False),
        ai_resolved=ai_resolved,
        finished=finished,
        previous=previous,
        changes=Changes(
            change(tokens.total, previous.tokens),
            change(cost, previous.cost_usd),
            change(conversations, previous.conversations),
            change(per_conversation, previous.cost_per_conversation),
        ),
    )
