"""ChangeTopic: an agent corrects the conversation's topic (the analytics and the monitor follow it)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._agent import act
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class ChangeTopic:
    """``topic``: a name of 1 to 60 characters (any name: the workspace's topics are a default set, not a list)."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str
    topic: str


def handle(cmd: ChangeTopic, conversation: Conversation) -> None:
    """Decide: the same topic again records nothing."""
    conversation.change_topic(cmd.topic, by=cmd.agent_id)


def execute(app: ChatAssistApp, cmd: ChangeTopic) -> Conversation:
    """Record TopicChanged; returns the conversation as saved."""
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c))
