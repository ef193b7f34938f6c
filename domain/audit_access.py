"""AuditAccess: one replay, request rebuild or export of a conversation, in its own stream.

Every look at a conversation through the audit endpoints or the CLI is itself recorded (issue 17 item 7), as a
one-event aggregate: no stream is shared, so recording never waits on, or conflicts with, another access. The audit
log projection writes it as a row of the workspace (``audit.*`` kinds, docs/audit.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.clock import ClockedEvent

ACTIONS = (
    "conversation.replayed",
    "conversation.state_read",
    "conversation.request_rebuilt",
    "conversation.exported",
    "conversations.exported",  # every conversation of a date range (conversation_id None; the range in details)
)


class AuditAccess(Aggregate):
    """Who (``by``: an account, None for the CLI) looked at which conversation, how (``action``), with ``details``
    (the page, version, instant, format: never a visitor's text)."""

    class Event(ClockedEvent):
        """Stamped by domain/clock.py."""

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Recorded(Aggregate.Created, Event):
            workspace_id: UUID
            by: UUID | None
            action: str
            conversation_id: UUID
            details: dict[str, Any]

    @event("Recorded")
    def __init__(
        self,
        workspace_id: UUID,
        by: UUID | None,
        action: str,
        conversation_id: UUID | None,
        details: dict[str, Any],
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit access action {action!r}")
        self.workspace_id = workspace_id
        self.by = by
        self.action = action
        self.conversation_id = conversation_id
        self.details = details
