"""The signed-in screens: overview, activity feed, usage and cost, topics and CSAT (the chat monitor and a
conversation: web/pages/monitor_page.py).

Each calls the read queries of the JSON API (read_api) through the same ``AsyncReader``, under the same guards;
here the figures are only arranged for the templates. For an htmx request (a live update, a filter) a screen
returns its changing part only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from html import escape
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from domain.errors import InvalidInput
from read_api._analytics import WorkspaceFacts, with_facts
from read_api._reads import AsyncReader, Planned, combined
from read_api.get_activity.query import FILTERS, plan_activity
from read_api.get_overview.query import Overview, plan_overview
from read_api.get_performance.query import performance_between
from read_api.get_topics.query import topics_between
from read_api.get_usage.query import usage_between
from web.auth import authenticate
from web.guards import GUARDS
from web.pages import charts
from web.pages._render import compact, day, hour, html, is_htmx, number, page, render, usd
from web.pages.figures import Kpi, duration, rate_points, relative
from web.pages.shell import shell_of

DemoData = Callable[[UUID], int]
"""Fills a workspace with demo conversations through the seed path (chatassist/seed.py); returns how many."""
FEED_SIZE = 30
PRESETS = (("7d", "Last 7 days", 7), ("30d", "Last 30 days", 30), ("90d", "Last 90 days", 90))
Query = Annotated[str | None, QueryParameter(name="from")]
Until = Annotated[str | None, QueryParameter(name="to")]


def hour_label(value: int) -> str:
    """0 -> "12 AM", 13 -> "1 PM" (en); "00 Uhr" (de): the hour on the volume chart's axis."""
    return hour(value)


def overview_kpis(ov: Overview) -> list[Kpi]:
    """The four cards of "Today's AI performance"."""
    vs = "vs yesterday"
    first = ov.avg_time_to_first_token_ms.value
    return [
        relative("conversations", "Total conversations", number(ov.conversations.value), ov.conversations.value,
                 ov.conversations.previous, vs),
        duration("response", "Avg response time", ov.avg_reply_time_ms.value, ov.avg_reply_time_ms.previous, vs,
                 note=f"first words after {first / 1000:.1f}s" if first is not None else ""),
        relative("cost", "API cost today", usd(ov.cost_usd.value), ov.cost_usd.value, ov.cost_usd.previous, vs,
                 higher_is_better=False),
        rate_points("resolution", "Resolution rate", ov.resolution_rate.value, ov.resolution_rate.previous, vs),
    ]  # fmt: skip


@get("/app", guards=[GUARDS["analytics.read"]], include_in_schema=False, name="overview")
async def overview(request: Request[Any, Any, Any], reader: AsyncReader) -> Response[str]:
    """Today's AI performance: four KPI cards, the hourly volume, the token quota; live."""
    shell = await shell_of(request, "overview")
    ws = shell.member.workspace_id

    def plan(facts: WorkspaceFacts) -> Planned[dict[str, Any]]:
        return combined({"overview": plan_overview(ws, facts), "activity": plan_activity(ws, facts, "all", 5)})

    got = await reader.drive(with_facts(ws, plan))
    ov: Overview = got["overview"]
    now = datetime.now(ZoneInfo(ov.time_zone))
    current = now.hour if ov.day == now.date() else None
    hourly = charts.bar_chart(
        [b.conversations for b in ov.hourly],
        [hour_label(b.hour) for b in ov.hourly],
        f"Conversations per hour on {ov.day:%B} {ov.day.day}, with yesterday's as marks",
        highlight=current,
        label_every=3,
        previous=[b.previous for b in ov.hourly],
    )
    budget = ov.monthly_token_budget
    quota = charts.gauge(ov.budget_used, "Monthly token budget used")
    context = {
        "shell": shell,
        "ov": ov,
        "kpis": overview_kpis(ov),
        "hourly": hourly,
        "hour_label": hour_label,
        "quota": quota,
        "quota_text": f"{compact(ov.tokens_this_month.value)} of {compact(budget)} tokens this month"
        if budget
        else f"{compact(ov.tokens_this_month.value)} tokens this month (no budget set)",
        "recent": got["activity"].items,
        "empty": not got["activity"].items,
        "seeding": request.query_params.get("seeding") == "1",
        "base_url": request.app.state.auth.public_url.rstrip("/"),
    }
    return page(request, "pages/overview.html.j2", "partials/overview_body.html.j2", **context)


@get("/app/activity", guards=[GUARDS["analytics.read"]], include_in_schema=False, name="activity")
async def activity(
    request: Request[Any, Any, Any], reader: AsyncReader, filter_: Annotated[str, QueryParameter(name="filter")] = "all"
) -> Response[str]:
    """The live activity feed: recent conversations under a filter, with the counters."""
    shell = await shell_of(request, "activity")
    if filter_ not in FILTERS:
        filter_ = "all"
    ws = shell.member.workspace_id
    feed = await reader.drive(with_facts(ws, lambda facts: plan_activity(ws, facts, filter_, FEED_SIZE)))
    context = {"shell": shell, "feed": feed, "filters": FILTERS, "can_open": shell.can("chat.monitor")}
    return page(request, "pages/activity.html.j2", "partials/activity_feed.html.j2", **context)


def _range_args(shell_tz: str, preset: str | None, start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """The from/to a preset stands for (in the workspace's zone), else the custom ones given."""
    for key, _, days in PRESETS:
        if preset == key:
            today = datetime.now(ZoneInfo(shell_tz)).date()
            return (today - timedelta(days=days - 1)).isoformat(), today.isoformat()
    return start, end


def _daily_labels(days: list[date]) -> tuple[list[str], int]:
    labels = [day(d) for d in days]
    return labels, max(1, len(days) // 8)


@get("/app/usage", guards=[GUARDS["analytics.read"]], include_in_schema=False, name="usage")
async def usage(
    request: Request[Any, Any, Any],
    reader: AsyncReader,
    range_: Annotated[str | None, QueryParameter(name="range")] = None,
    start: Query = None,
    end: Until = None,
) -> Response[str]:
    """AI usage and cost over a range of days (default: the last 30), with changes against the period before."""
    shell = await shell_of(request, "usage")
    ws = shell.member.workspace_id
    preset = range_ or (None if start or end else "30d")
    first, last = _range_args(shell.facts.time_zone, preset, start, end)
    error = None

    try:
        u = await reader.drive(usage_between(ws, first, last))
    except InvalidInput as err:
        error, preset = err.message, "30d"
        u = await reader.drive(usage_between(ws, None, None))
    labels, every = _daily_labels([d.day for d in u.daily])
    title = f"Daily conversations, {day(u.start)} to {day(u.end)}"
    daily = charts.bar_chart([d.conversations for d in u.daily], labels, title, label_every=every)
    ch = u.changes
    vs = "vs previous period"
    kpis = [
        relative("tokens", "Total API tokens", number(u.tokens.total), None, None, vs, use_fraction=True,
                 fraction=ch.tokens, note=f"{compact(u.tokens.input)} in · {compact(u.tokens.output)} out · "
                 f"{compact(u.tokens.cache_read)} cache read · {compact(u.tokens.cache_write)} cache write"),
        relative("cost", "Total API cost", usd(u.cost_usd), None, None, vs, use_fraction=True, fraction=ch.cost_usd,
                 higher_is_better=False),
        relative("conversations", "Total conversations", number(u.conversations), None, None, vs, use_fraction=True,
                 fraction=ch.conversations),
        relative("per_conversation", "Cost per conversation", usd(u.cost_per_conversation), None, None, vs,
                 use_fraction=True, fraction=ch.cost_per_conversation, higher_is_better=False),
    ]  # fmt: skip
    context = {
        "shell": shell,
        "u": u,
        "kpis": kpis,
        "daily": daily,
        "resolution": charts.gauge(u.resolution_rate, "Resolution rate"),
        "presets": PRESETS,
        "preset": preset,
        "error": error,
        "action": "/app/usage",
    }
    return page(request, "pages/usage.html.j2", None, **context)


@get("/app/usage/versions", guards=[GUARDS["analytics.read"]], include_in_schema=False, name="usage_versions")
async def usage_versions(
    request: Request[Any, Any, Any], reader: AsyncReader, start: Query = None, end: Until = None
) -> Response[str]:
    """The usage page's per-prompt-version table, loaded after the page (its read is the page's slowest)."""
    member = await authenticate(request)
    try:
        versions = await reader.drive(performance_between(member.workspace_id, "prompt_version", start, end))
    except InvalidInput as err:
        return html(f'<p class="field-error">{escape(err.message)}</p>')
    return html(render("partials/versions_table.html.j2", versions=versions.rows))


@get("/app/topics", guards=[GUARDS["analytics.read"]], include_in_schema=False, name="topics")
async def topics(
    request: Request[Any, Any, Any],
    reader: AsyncReader,
    range_: Annotated[str | None, QueryParameter(name="range")] = None,
    start: Query = None,
    end: Until = None,
) -> Response[str]:
    """Conversation topics and satisfaction scores over a range of days."""
    shell = await shell_of(request, "topics")
    ws = shell.member.workspace_id
    preset = range_ or (None if start or end else "30d")
    first, last = _range_args(shell.facts.time_zone, preset, start, end)
    error = None
    try:
        t = await reader.drive(topics_between(ws, first, last))
    except InvalidInput as err:
        error, preset = err.message, "30d"
        t = await reader.drive(topics_between(ws, None, None))
    top = t.topics[:8]
    chart = charts.hbar_chart([r.conversations for r in top], [r.topic for r in top], "Top support topics by volume")
    context = {
        "shell": shell,
        "t": t,
        "chart": chart,
        "presets": PRESETS,
        "preset": preset,
        "error": error,
        "action": "/app/topics",
    }
    return page(request, "pages/topics.html.j2", None, **context)


@post("/app/demo-data", guards=[GUARDS["settings.manage"]], include_in_schema=False, name="demo_data", status_code=303)
async def demo_data(request: Request[Any, Any, Any]) -> Response[str]:
    """Fill the workspace with demo conversations (the seed path), then back to the overview."""
    shell = await shell_of(request, "overview")
    filler: DemoData | None = request.app.state.get("demo_data")
    if filler is None:
        raise InvalidInput("This installation cannot fill demo data (no seeder configured).", code="no_demo_data")
    await anyio.to_thread.run_sync(filler, shell.member.workspace_id)
    target = "/app?seeding=1"
    if is_htmx(request):
        return html("", headers={"HX-Redirect": target})
    return Response("", status_code=303, headers={"Location": target})


SCREENS = [overview, activity, usage, usage_versions, topics, demo_data]
