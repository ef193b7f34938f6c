"""GET /api/analytics/activity: recent conversations of the caller's workspace, with counters."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from read_api._reads import AsyncReader
from read_api.get_activity.query import DEFAULT_LIMIT, Activity, activity_reads


class ActivityController(Controller):
    """The live activity feed (``analytics_workspace_id``: the signed-in member's workspace, from the web layer)."""

    path = "/activity"
    tags = ["analytics"]

    @get("/", operation_id="getAnalyticsActivity", summary="Recent conversations: all, escalated, resolved, pending")
    async def activity(
        self,
        reader: AsyncReader,
        analytics_workspace_id: UUID,
        filter_: Annotated[
            str, QueryParameter(name="filter", description="all, escalated, resolved or pending")
        ] = "all",
        limit: Annotated[int, QueryParameter(description="at most 200")] = DEFAULT_LIMIT,
    ) -> Activity:
        """Newest activity first; 'escalated': conversations a rule handed to a person at least once."""
        return await reader.drive(activity_reads(analytics_workspace_id, filter_, limit))
