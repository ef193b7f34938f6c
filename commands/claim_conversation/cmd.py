"""ClaimConversation: an agent takes a chat over (from the queue, or live from the AI). Two agents claiming at once:
the second save conflicts, is reloaded and decided again, and is refused with 409 ``already_claimed``."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._agent import act
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ClaimConversation:
    """``agent_id``: the signed-in account id."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str


def handle(cmd: ClaimConversation, conversation: Conversation) -> None:
    """Decide: claim (claiming one's own chat again records nothing)."""
    conversation.claim(cmd.agent_id)


def execute(app: ChatAssistApp, cmd: ClaimConversation) -> Conversation:
    """Record AgentClaimed; returns the conversation as saved."""
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c))
