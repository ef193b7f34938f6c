"""GetOverview: today's figures of a workspace (its time zone's day), each with yesterday's (or last month's)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import msgspec

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import (
    AI_RESOLVED,
    AnalyticsSource,
    Count,
    Money,
    Rate,
    WorkspaceFacts,
    midnight,
    money,
    ratio,
    usage_table,
    with_facts,
)
from read_api._reads import Planned, Reads, Rows, Statement, drive

TOKENS = "input_tokens + output_tokens + cache_read_tokens + cache_write_tokens"


class HourBucket(msgspec.Struct):
    """Conversations started in one hour (wall clock, the workspace's zone) of today, and in that hour yesterday."""

    hour: int
    conversations: int
    previous: int


class Overview(msgspec.Struct):
    """The overview dashboard. ``previous`` is yesterday's value; for the month figures, last month's."""

    day: date
    time_zone: str
    conversations: Count
    avg_time_to_first_token_ms: Rate
    avg_reply_time_ms: Rate
    cost_usd: Money
    unknown_cost_calls: int
    resolution_rate: Rate
    hourly: list[HourBucket]
    tokens_today: Count
    tokens_this_month: Count
    monthly_token_budget: int | None
    budget_used: float | None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def get_overview(view: AnalyticsSource, workspace_id: UUID, *, day: date | None = None) -> Overview:
    """The overview of ``day`` (default today in the workspace's time zone) for one workspace."""
    return drive(view, overview_reads(workspace_id, day))


def overview_reads(workspace_id: UUID, day: date | None = None) -> Reads[Overview]:
    """The read of ``get_overview``, for either driver (read_api/_reads.py)."""
    return with_facts(workspace_id, lambda facts: plan_overview(workspace_id, facts, day))


def plan_overview(workspace_id: UUID, facts: WorkspaceFacts, day: date | None = None) -> Planned[Overview]:
    """The two reads of ``get_overview`` (sent together) and how they make the figures."""
    tz = facts.time_zone
    day = day or facts.today()
    yesterday = day - timedelta(days=1)
    params = {
        "ws": workspace_id,
        "tz": tz,
        "t0": midnight(day, tz),
        "since": midnight(yesterday, tz),
        "until": midnight(day + timedelta(days=1), tz),
    }
    hours = (
        f"SELECT started_at >= %(t0)s AS today, extract(hour FROM started_at AT TIME ZONE %(tz)s)::int AS hour,"
        f" count(*) AS n, count(*) FILTER (WHERE {AI_RESOLVED}) AS resolved,"
        f" count(*) FILTER (WHERE status <> 'open') AS finished FROM {CONVERSATIONS}"
        " WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s GROUP BY 1, 2"
    )
    first = min(_month_start(_month_start(day) - timedelta(days=1)), yesterday)
    usage = (
        f"SELECT (slot AT TIME ZONE %(tz)s)::date AS day, sum(cost_usd) AS cost, sum(unknown_cost_calls) AS unknown,"
        " sum(ttft_ms_sum) AS ttft, sum(ttft_count) AS ttft_n, sum(latency_ms_sum) AS latency, sum(ok_calls) AS ok,"
        f" sum({TOKENS}) AS tokens FROM {usage_table(tz, first, day)} WHERE workspace_id = %(ws)s AND slot >= %(from)s"
        " AND slot < %(until)s GROUP BY 1"
    )
    statements: list[Statement] = [(hours, params), (usage, {**params, "from": midnight(first, tz)})]
    return Planned(statements, lambda rows: _overview(facts, day, rows[0], rows[1]))


def _overview(facts: WorkspaceFacts, day: date, hours: Rows, usage: Rows) -> Overview:
    tz = facts.time_zone
    yesterday = day - timedelta(days=1)
    hourly = {(bool(r["today"]), r["hour"]): int(r["n"]) for r in hours}
    by_day = {
        today_: {k: sum(int(r[k]) for r in hours if bool(r["today"]) == today_) for k in ("n", "resolved", "finished")}
        for today_ in (True, False)
    }
    month, last_month = _month_start(day), _month_start(_month_start(day) - timedelta(days=1))
    by_usage_day = {r["day"]: r for r in usage}

    def conv(today_: bool, key: str) -> int:
        return by_day[today_][key]

    def use(d: date, key: str) -> float:
        row = by_usage_day.get(d)
        return float(row[key] or 0) if row else 0.0

    def cost(d: date) -> Decimal:
        row = by_usage_day.get(d)
        return money(row["cost"]) if row else Decimal(0)

    def tokens_between(first: date, last: date) -> int:
        return sum(int(r["tokens"] or 0) for d, r in by_usage_day.items() if first <= d <= last)

    tokens_month = tokens_between(month, day)
    budget = facts.monthly_token_budget
    return Overview(
        day=day,
        time_zone=tz,
        conversations=Count(conv(True, "n"), conv(False, "n")),
        avg_time_to_first_token_ms=Rate(
            ratio(use(day, "ttft"), use(day, "ttft_n")), ratio(use(yesterday, "ttft"), use(yesterday, "ttft_n"))
        ),
        avg_reply_time_ms=Rate(
            ratio(use(day, "latency"), use(day, "ok")), ratio(use(yesterday, "latency"), use(yesterday, "ok"))
        ),
        cost_usd=Money(cost(day), cost(yesterday)),
        unknown_cost_calls=int(use(day, "unknown")),
        resolution_rate=Rate(
            ratio(conv(True, "resolved"), conv(True, "finished")),
            ratio(conv(False, "resolved"), conv(False, "finished")),
        ),
        hourly=[HourBucket(h, hourly.get((True, h), 0), hourly.get((False, h), 0)) for h in range(24)],
        tokens_today=Count(tokens_between(day, day), tokens_between(yesterday, yesterday)),
        tokens_this_month=Count(tokens_month, tokens_between(last_month, month - timedelta(days=1))),
        monthly_token_budget=budget,
        budget_used=ratio(tokens_month, budget),
    )
