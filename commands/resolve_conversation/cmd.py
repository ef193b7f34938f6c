"""ResolveConversation: the visitor or an agent says the problem is solved."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import conversation_in, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ResolveConversation:
    """Mark a conversation resolved; ``by`` says who decided ("visitor", or the agent's account id). With
    ``agent`` true, ``by`` is an agent: a chat another agent has claimed is theirs to resolve (409)."""

    workspace_id: UUID
    conversation_id: UUID
    by: str = "visitor"
    agent: bool = False


def handle(cmd: ResolveConversation, conversation: Conversation) -> None:
    """Decide: resolve an open chat (idempotent)."""
    if cmd.agent:
        conversation.check_may_handle(cmd.by)
    conversation.resolve(cmd.by)


def execute(app: ChatAssistApp, cmd: ResolveConversation) -> Conversation:
    """Record the resolution (idempotent); returns the conversation as saved."""
    loaded = conversation_in(app, cmd.workspace_id, cmd.conversation_id)

    def decide(conversation: Conversation) -> Conversation:
        handle(cmd, conversation)
        return conversation

    return update(app, cmd.conversation_id, Conversation, "conversation", decide, loaded=loaded)
