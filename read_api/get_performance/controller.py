"""GET /api/analytics/prompt-versions and /api/analytics/models: figures per prompt version and per model."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import QueryParameter

from read_api._reads import AsyncReader
from read_api.get_performance.query import ByModel, ByPromptVersion, performance_between

From = Annotated[str | None, QueryParameter(name="from", description="first day (workspace time zone), YYYY-MM-DD")]
To = Annotated[str | None, QueryParameter(name="to", description="last day (default today)")]


class PerformanceController(Controller):
    """Whether a prompt version helped and what a resolution costs (``analytics_workspace_id``: the signed-in
    member's workspace, from the web layer)."""

    tags = ["analytics"]

    @get(
        "/prompt-versions",
        operation_id="getAnalyticsByPromptVersion",
        summary="Per prompt version: conversations, resolution and escalation rates, confidence, CSAT, cost",
    )
    async def by_prompt_version(
        self, reader: AsyncReader, analytics_workspace_id: UUID, start: From = None, end: To = None
    ) -> ByPromptVersion:
        """Conversations started in the range, grouped by the prompt version they count for."""
        found = await reader.drive(performance_between(analytics_workspace_id, "prompt_version", start, end))
        assert isinstance(found, ByPromptVersion)
        return found

    @get(
        "/models",
        operation_id="getAnalyticsByModel",
        summary="Per model: conversations, resolution and escalation rates, confidence, CSAT, cost",
    )
    async def by_model(
        self, reader: AsyncReader, analytics_workspace_id: UUID, start: From = None, end: To = None
    ) -> ByModel:
        """Conversations started in the range, grouped by the model they count for."""
        found = await reader.drive(performance_between(analytics_workspace_id, "model", start, end))
        assert isinstance(found, ByModel)
        return found
