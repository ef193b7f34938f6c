"""ReplyAsAgent: the assigned agent writes to the visitor, who sees it live in the widget, marked as a person."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from commands._agent import act, agent_display_name
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ReplyAsAgent:
    """``agent_id``: the signed-in account id; ``text``: 1 to 4,000 characters."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str
    text: str


def handle(cmd: ReplyAsAgent, conversation: Conversation, message_id: str, agent_name: str) -> None:
    """Decide: only the assignee replies, only while the chat is open, never an empty message."""
    conversation.agent_reply(cmd.agent_id, message_id, cmd.text, agent_name)


def execute(app: ChatAssistApp, cmd: ReplyAsAgent) -> tuple[Conversation, str]:
    """Record AgentReplied; returns the conversation as saved and the new message id."""
    message_id, name = str(uuid4()), agent_display_name(app, cmd.agent_id)
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c, message_id, name)), message_id
