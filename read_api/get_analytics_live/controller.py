"""GET /api/analytics/live: the dashboards' figures as server-sent events, pushed when the analytics view changes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from domain.errors import InvalidInput
from projections.analytics.projection import AnalyticsProjection
from read_api._analytics import (
    AnalyticsSource,
    DateRange,
    WorkspaceFacts,
    date_range,
    with_facts,
)
from read_api._live import LiveHub, live_events
from read_api._params import check_parameters
from read_api._reads import AsyncReader, Planned, Reads, combined, drive
from read_api.get_activity.query import DEFAULT_LIMIT, check_activity_input, plan_activity
from read_api.get_overview.query import plan_overview
from read_api.get_topics.query import plan_topics
from read_api.get_usage.query import plan_usage

DASHBOARDS = ("overview", "activity", "usage", "topics")
DEFAULT_DASHBOARDS = "overview,activity"
PARAMETERS = ("dashboards", "filter", "limit", "from", "to")


def dashboards_of(raw: str) -> tuple[str, ...]:
    """The dashboards named (comma-separated, in the order given); 422 unknown_dashboard."""
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    unknown = [n for n in names if n not in DASHBOARDS]
    if unknown or not names:
        raise InvalidInput(
            f"dashboards must be a comma-separated list of {', '.join(DASHBOARDS)}, got {raw[:60]!r}.",
            code="unknown_dashboard",
        )
    return names


def figures(
    view: AnalyticsSource, workspace_id: UUID, names: tuple[str, ...], filter_: str, limit: int, days: DateRange
) -> dict[str, Any]:
    """The fresh figures of each dashboard named, as its GET endpoint returns them (blocking)."""
    return drive(view, figures_reads(workspace_id, names, filter_, limit, days))


def figures_reads(
    workspace_id: UUID, names: tuple[str, ...], filter_: str, limit: int, days: DateRange
) -> Reads[dict[str, Any]]:
    """The read of ``figures``: every dashboard named in one round trip, with the workspace's facts."""

    def plan(facts: WorkspaceFacts) -> Planned[dict[str, Any]]:
        parts: dict[str, Callable[[], Planned[Any]]] = {
            "overview": lambda: plan_overview(workspace_id, facts),
            "activity": lambda: plan_activity(workspace_id, facts, filter_, limit),
            "usage": lambda: plan_usage(workspace_id, days),
            "topics": lambda: plan_topics(workspace_id, days),
        }
        return combined({name: parts[name]() for name in names})

    return with_facts(workspace_id, plan)


def changed_dashboards(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Which dashboards' figures differ (nothing when none does)."""
    names = [n for n in new if msgspec.json.encode(old.get(n)) != msgspec.json.encode(new[n])]
    return {"changed": names} if names else {}


class AnalyticsLiveController(Controller):
    """``analytics_workspace_id``: the signed-in member's workspace, from the web layer (analytics.read)."""

    path = "/live"
    tags = ["analytics"]

    @get(
        "/",
        operation_id="streamAnalytics",
        summary="Server-sent events: the dashboards' figures, again each time they change",
        response_description="text/event-stream of snapshot, update and heartbeat events (docs/analytics.md)",
    )
    async def live(
        self,
        request: Request[Any, Any, Any],
        reader: AsyncReader,
        analytics_workspace_id: UUID,
        live_hub: LiveHub,
        dashboards: Annotated[
            str, QueryParameter(description="comma-separated: overview, activity, usage, topics")
        ] = DEFAULT_DASHBOARDS,
        filter_: Annotated[str, QueryParameter(name="filter", description="the activity feed's filter")] = "all",
        limit: Annotated[int, QueryParameter(description="the activity feed's size, at most 200")] = DEFAULT_LIMIT,
        start: Annotated[str | None, QueryParameter(name="from", description="usage/topics: first UTC day")] = None,
        end: Annotated[str | None, QueryParameter(name="to", description="usage/topics: last UTC day")] = None,
    ) -> ServerSentEvent:
        """``snapshot`` with every dashboard asked for, then ``update`` naming the ones that changed."""
        check_parameters(request, PARAMETERS)
        names = dashboards_of(dashboards)
        check_activity_input(filter_, limit)

        def range_asked(facts: WorkspaceFacts) -> Planned[DateRange]:  # in the workspace's zone and retention
            return Planned([], lambda _: date_range(start, end, facts=facts))

        days = await reader.drive(with_facts(analytics_workspace_id, range_asked))

        async def read() -> dict[str, Any]:
            return await reader.drive(figures_reads(analytics_workspace_id, names, filter_, limit, days))

        events: AsyncIterator[ServerSentEventMessage] = live_events(
            live_hub, analytics_workspace_id, AnalyticsProjection.name, read, changed_dashboards
        )
        return ServerSentEvent(events, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
