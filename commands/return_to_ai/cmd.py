"""ReturnToAI: the assigned agent hands the chat back; the AI answers the visitor's next message."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._agent import act
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ReturnToAI:
    """``agent_id``: the assignee."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str


def handle(cmd: ReturnToAI, conversation: Conversation) -> None:
    """Decide: only the assignee of an open chat returns it."""
    conversation.return_to_ai(cmd.agent_id)


def execute(app: ChatAssistApp, cmd: ReturnToAI) -> Conversation:
    """Record ReturnedToAI; returns the conversation as saved."""
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c))
