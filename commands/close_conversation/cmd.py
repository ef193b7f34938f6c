"""CloseConversation: no more messages; used by the visitor, by agents and by the idle-timeout job."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import load, update
from commands.application import ChatAssistApp
from domain.conversation import OPEN, Conversation
from domain.errors import NotFound


@dataclass(frozen=True)
class CloseConversation:
    """Close a conversation; ``workspace_id`` None means a trusted internal caller (the scheduler). ``by``: the
    agent's account id when an agent closes it (a chat another agent has claimed is theirs to close: 409).
    ``unless_human``: the idle job's guard, leave an open chat alone while it waits for or is with a person."""

    conversation_id: UUID
    reason: str
    workspace_id: UUID | None = None
    by: str | None = None
    unless_human: bool = False


def handle(cmd: CloseConversation, conversation: Conversation) -> bool:
    """Decide: close (closing twice records one event); False when the idle guard leaves it open."""
    if cmd.unless_human and conversation.human_handling and conversation.status == OPEN:
        return False
    if cmd.by is not None:
        conversation.check_may_handle(cmd.by)
    conversation.close(cmd.reason, by=cmd.by)
    return True


def execute(app: ChatAssistApp, cmd: CloseConversation) -> Conversation:
    """Record the closing (idempotent); returns the conversation as saved."""
    conversation = load(app, cmd.conversation_id, Conversation, "conversation")
    if cmd.workspace_id is not None and conversation.workspace_id != cmd.workspace_id:
        raise NotFound(f"No conversation with id {cmd.conversation_id}.", code="conversation_not_found")

    def decide(c: Conversation) -> Conversation:
        handle(cmd, c)
        return c

    return update(app, cmd.conversation_id, Conversation, "conversation", decide, loaded=conversation)
