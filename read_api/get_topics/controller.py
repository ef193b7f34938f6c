"""GET /api/analytics/topics?from=YYYY-MM-DD&to=YYYY-MM-DD: topics and CSAT of the caller's workspace."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from read_api._reads import AsyncReader
from read_api.get_topics.query import Topics, topics_between


class TopicsController(Controller):
    """Topics and CSAT (``analytics_workspace_id``: the signed-in member's workspace, from the web layer)."""

    path = "/topics"
    tags = ["analytics"]

    @get("/", operation_id="getAnalyticsTopics", summary="Per topic: volume, AI-resolved %, turns, CSAT")
    async def topics(
        self,
        reader: AsyncReader,
        analytics_workspace_id: UUID,
        start: Annotated[
            str | None, QueryParameter(name="from", description="first day (workspace time zone), YYYY-MM-DD")
        ] = None,
        end: Annotated[str | None, QueryParameter(name="to", description="last day (default today)")] = None,
    ) -> Topics:
        """Default: the last 30 days up to today; at most 366 days, within the analytics retention window."""
        return await reader.drive(topics_between(analytics_workspace_id, start, end))
