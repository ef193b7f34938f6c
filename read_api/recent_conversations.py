"""The ids of a workspace's latest conversations (newest first), from the analytics read model."""

from __future__ import annotations

from uuid import UUID

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import AnalyticsSource


def recent_conversation_ids(analytics: AnalyticsSource, workspace_id: UUID, last: int) -> list[UUID]:
    """Up to ``last`` conversation ids of the workspace, most recently started first."""
    rows = analytics.query(
        f"SELECT id FROM {CONVERSATIONS} WHERE workspace_id = %s ORDER BY started_at DESC, id LIMIT %s",
        (workspace_id, last),
    )
    return [UUID(str(r["id"])) for r in rows]
