"""GET /api/analytics/overview: today's figures of the caller's workspace, each with yesterday's."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get

from read_api._reads import AsyncReader
from read_api.get_overview.query import Overview, overview_reads


class OverviewController(Controller):
    """``analytics_workspace_id`` is injected by the web layer: the signed-in member's workspace, once the
    analytics.read permission is checked. No workspace id is ever taken from the request."""

    path = "/overview"
    tags = ["analytics"]

    @get("/", operation_id="getAnalyticsOverview", summary="Today's conversations, response times, cost, quota")
    async def overview(self, reader: AsyncReader, analytics_workspace_id: UUID) -> Overview:
        """Figures of the current day in the workspace's time zone, each with yesterday's (month figures: last
        month's)."""
        return await reader.drive(overview_reads(analytics_workspace_id))
