"""ResolveConversation: the visitor (or later an agent) says the problem is solved."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import conversation_in, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ResolveConversation:
    """Mark a conversation resolved; ``by`` says who decided."""

    workspace_id: UUID
    conversation_id: UUID
    by: str = "visitor"


def execute(app: ChatAssistApp, cmd: ResolveConversation) -> None:
    """Record the resolution (idempotent)."""
    conversation_in(app, cmd.workspace_id, cmd.conversation_id)
    update(app, cmd.conversation_id, Conversation, "conversation", lambda c: c.resolve(cmd.by))
