"""ReceiveMessage: the visitor's message is durable before any model is called."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from commands._common import conversation_in, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation, Turn, check_message_text
from domain.errors import NotFound


@dataclass(frozen=True)
class EndUser:
    """The visitor as the embedding site identifies them (personal data)."""

    id: str
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ReceiveMessage:
    """A visitor message to a new (``conversation_id`` None) or existing conversation."""

    workspace_id: UUID
    conversation_id: UUID | None
    user: EndUser
    text: str
    max_history_turns: int = 10
    channel: str = "widget"


@dataclass(frozen=True)
class MessageReceived:
    """The stored message and the history window to send to the model."""

    conversation_id: UUID
    message_id: str
    history: list[Turn]
    started: bool
    conversation: Conversation | None = None


def handle_new(cmd: ReceiveMessage, message_id: str) -> Conversation:
    """Decide: start a conversation with its first message."""
    text = check_message_text(cmd.text)
    personal = {"user_id": cmd.user.id, "email": cmd.user.email, "name": cmd.user.name}
    conversation = Conversation(cmd.workspace_id, cmd.channel, personal)
    conversation.receive(message_id, text)
    return conversation


def handle_existing(cmd: ReceiveMessage, conversation: Conversation, message_id: str) -> None:
    """Decide: add a message to the visitor's own open conversation."""
    if conversation.workspace_id != cmd.workspace_id or conversation.end_user_id != cmd.user.id:
        raise NotFound(f"No conversation with id {conversation.id}.", code="conversation_not_found")
    conversation.receive(message_id, cmd.text)


def execute(app: ChatAssistApp, cmd: ReceiveMessage, held: Conversation | None = None) -> MessageReceived:
    """Store the message (starting the conversation if needed) and return the history window.

    ``held`` is this conversation as this process last saved it (owned by the caller): it is tried first,
    saving a read; if another process appended since, the save conflicts and the conversation is reloaded.
    """
    message_id = str(uuid4())
    if cmd.conversation_id is None:
        conversation = handle_new(cmd, message_id)
        app.save(conversation)
        return MessageReceived(
            conversation.id, message_id, conversation.history(cmd.max_history_turns), True, conversation
        )
    held_ok = held is not None and held.id == cmd.conversation_id and held.workspace_id == cmd.workspace_id
    existing = held if held_ok else conversation_in(app, cmd.workspace_id, cmd.conversation_id)

    def decide(conv: Conversation) -> tuple[list[Turn], Conversation]:
        handle_existing(cmd, conv, message_id)
        return conv.history(cmd.max_history_turns), conv

    history, saved = update(app, cmd.conversation_id, Conversation, "conversation", decide, loaded=existing)
    return MessageReceived(cmd.conversation_id, message_id, history, False, saved)
