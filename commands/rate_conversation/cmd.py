"""RateConversation: the visitor's CSAT score, 1 to 5."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import conversation_in, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class RateConversation:
    """A rating from the visitor who owns the conversation."""

    workspace_id: UUID
    conversation_id: UUID
    score: int
    comment: str | None = None


def execute(app: ChatAssistApp, cmd: RateConversation) -> None:
    """Record the rating (a later rating replaces an earlier one)."""
    conversation_in(app, cmd.workspace_id, cmd.conversation_id)
    update(app, cmd.conversation_id, Conversation, "conversation", lambda c: c.rate(cmd.score, cmd.comment))
