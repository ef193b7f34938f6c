"""GetOverview: today's figures of a workspace (UTC day), each with yesterday's (or last month's) value."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import msgspec

from projections.analytics.projection import CONVERSATIONS, USAGE_DAILY, WORKSPACES
from read_api._analytics import AnalyticsSource, Count, DateRange, Money, Rate, money, ratio, today

TOKENS = "input_tokens + output_tokens + cache_read_tokens + cache_write_tokens"


class HourBucket(msgspec.Struct):
    """Conversations started in one UTC hour of today, and in the same hour yesterday."""

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
    """The overview of ``day`` (default today, UTC) for one workspace."""
    day = day or today()
    yesterday = day - timedelta(days=1)
    window = DateRange(yesterday, day)
    t0 = DateRange(day, day).since
    convs = view.query(
        f"SELECT started_at >= %(t0)s AS today, count(*) AS n, count(*) FILTER (WHERE resolved) AS resolved,"
        f" count(*) FILTER (WHERE status <> 'open') AS finished FROM {CONVERSATIONS}"
        " WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s GROUP BY 1",
        {"ws": workspace_id, "t0": t0, "since": window.since, "until": window.until},
    )
    by_day = {bool(r["today"]): r for r in convs}
    hours = view.query(
        f"SELECT started_at >= %(t0)s AS today, extract(hour FROM started_at AT TIME ZONE 'UTC')::int AS hour,"
        f" count(*) AS n FROM {CONVERSATIONS}"
        " WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s GROUP BY 1, 2",
        {"ws": workspace_id, "t0": t0, "since": window.since, "until": window.until},
    )
    hourly = {(bool(r["today"]), r["hour"]): int(r["n"]) for r in hours}
    month, last_month = _month_start(day), _month_start(_month_start(day) - timedelta(days=1))
    usage = view.query(
        f"SELECT day, sum(cost_usd) AS cost, sum(unknown_cost_calls) AS unknown, sum(ttft_ms_sum) AS ttft,"
        f" sum(ttft_count) AS ttft_n, sum(latency_ms_sum) AS latency, sum(ok_calls) AS ok, sum({TOKENS}) AS tokens"
        f" FROM {USAGE_DAILY} WHERE workspace_id = %(ws)s AND day >= %(from)s AND day <= %(to)s GROUP BY day",
        {"ws": workspace_id, "from": min(last_month, yesterday), "to": day},
    )
    by_usage_day = {r["day"]: r for r in usage}
    budget_rows = view.query(f"SELECT monthly_token_budget FROM {WORKSPACES} WHERE workspace_id = %s", (workspace_id,))

    def conv(today_: bool, key: str) -> int:
        return int(by_day[today_][key]) if today_ in by_day else 0

    def use(d: date, key: str) -> float:
        row = by_usage_day.get(d)
        return float(row[key] or 0) if row else 0.0

    def cost(d: date) -> Decimal:
        row = by_usage_day.get(d)
        return money(row["cost"]) if row else Decimal(0)

    def tokens_between(first: date, last: date) -> int:
        return sum(int(r["tokens"] or 0) for d, r in by_usage_day.items() if first <= d <= last)

    tokens_month = tokens_between(month, day)
    budget = int(budget_rows[0]["monthly_token_budget"]) if budget_rows else None
    return Overview(
        day=day,
        time_zone="UTC",
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
