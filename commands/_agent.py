"""Shared by the agent commands: act on a conversation of the agent's workspace, and the agent's visible name."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from commands._common import conversation_in, load, update
from commands.application import ChatAssistApp
from domain import handoff
from domain.account import Account
from domain.conversation import Conversation
from domain.errors import NotFound


def act(
    app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, decide: Callable[[Conversation], object]
) -> Conversation:
    """Load the workspace's conversation (another workspace's is a 404), decide, save with conflict retries (a
    concurrent write reloads and decides again); returns the conversation as saved."""
    loaded = conversation_in(app, workspace_id, conversation_id)

    def run(conversation: Conversation) -> Conversation:
        decide(conversation)
        return conversation

    return update(app, conversation_id, Conversation, "conversation", run, loaded=loaded)


def agent_display_name(app: ChatAssistApp, agent_id: str) -> str:
    """The name the visitor sees for this agent (domain/handoff.display_name of the account's name)."""
    try:
        account = load(app, UUID(agent_id), Account, "account", read_only=True)
    except (NotFound, ValueError):
        return handoff.SUPPORT_TEAM
    return handoff.display_name(account.name)
