"""The eventsourcing Application that owns every aggregate's event stream."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from eventsourcing.application import Application


class ChatAssistApp(Application[UUID]):
    """One event store (table ``chatassist_events``) for workspaces and conversations.

    Aggregates are cached in-process; ``fastforward`` reads any newer events another
    process wrote, so several web processes can share the store safely.
    """

    name = "ChatAssist"
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
    }
