"""The analytics read endpoints under /api/analytics: members with analytics.read, their own workspace only."""

from __future__ import annotations

from uuid import UUID

from litestar import Router
from litestar.di import Provide

from read_api.get_activity.controller import ActivityController
from read_api.get_analytics_live.controller import AnalyticsLiveController
from read_api.get_overview.controller import OverviewController
from read_api.get_performance.controller import PerformanceController
from read_api.get_topics.controller import TopicsController
from read_api.get_usage.controller import UsageController
from web.auth import Member
from web.guards import GUARDS


async def analytics_workspace_id(current_member: Member) -> UUID:
    """The workspace of the caller's session: the only one an analytics query may read."""
    return current_member.workspace_id


def analytics_router() -> Router:
    """The dashboards' read endpoints and their live stream, guarded by the analytics.read permission."""
    return Router(
        path="/api/analytics",
        route_handlers=[
            OverviewController,
            ActivityController,
            UsageController,
            TopicsController,
            PerformanceController,
            AnalyticsLiveController,
        ],
        guards=[GUARDS["analytics.read"]],
        dependencies={"analytics_workspace_id": Provide(analytics_workspace_id)},
    )
