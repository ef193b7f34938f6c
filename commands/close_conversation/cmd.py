"""CloseConversation: no more messages; used by the visitor and by the idle-timeout job."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import load, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation
from domain.errors import NotFound


@dataclass(frozen=True)
class CloseConversation:
    """Close a conversation; ``workspace_id`` None means a trusted internal caller (the scheduler)."""

    conversation_id: UUID
    reason: str
    workspace_id: UUID | None = None


def execute(app: ChatAssistApp, cmd: CloseConversation) -> None:
    """Record the closing (idempotent: closing twice records one event)."""
    conversation = load(app, cmd.conversation_id, Conversation, "conversation")
    if cmd.workspace_id is not None and conversation.workspace_id != cmd.workspace_id:
        raise NotFound(f"No conversation with id {cmd.conversation_id}.", code="conversation_not_found")
    update(app, cmd.conversation_id, Conversation, "conversation", lambda c: c.close(cmd.reason))
