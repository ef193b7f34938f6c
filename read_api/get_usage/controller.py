"""GET /api/analytics/usage?from=YYYY-MM-DD&to=YYYY-MM-DD: usage and cost of the caller's workspace."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from read_api._reads import AsyncReader
from read_api.get_usage.query import Usage, usage_between


class UsageController(Controller):
    """Usage analytics (``analytics_workspace_id``: the signed-in member's workspace, from the web layer)."""

    path = "/usage"
    tags = ["analytics"]

    @get("/", operation_id="getAnalyticsUsage", summary="Tokens, cost, volume, resolution, by model and provider")
    async def usage(
        self,
        reader: AsyncReader,
        analytics_workspace_id: UUID,
        start: Annotated[
            str | None, QueryParameter(name="from", description="first day (workspace time zone), YYYY-MM-DD")
        ] = None,
        end: Annotated[str | None, QueryParameter(name="to", description="last day (default today)")] = None,
    ) -> Usage:
        """Default: the last 30 days up to today; at most 366 days, within the analytics retention window."""
        return await reader.drive(usage_between(analytics_workspace_id, start, end))
