"""ReceiveMessage: the visitor's message is durable before any model is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

from eventsourcing.persistence import RecordConflictError

from commands._common import conversation_in, update
from commands.application import ChatAssistApp
from domain.conversation import Conversation, Turn, check_message_text
from domain.errors import NotFound
from domain.visitor_token import check_visitor_token, new_visitor_token, visitor_token_hash


@dataclass(frozen=True)
class EndUser:
    """The visitor as the embedding site identifies them (personal data)."""

    id: str
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class VisitorAccess:
    """How a widget request proves the conversation is its own: the visitor token it was given, or a verified
    identity (the workspace requires identity verification and the signature matched the user id)."""

    token: str | None = None
    verified: bool = False


@dataclass(frozen=True)
class ReceiveMessage:
    """A visitor message to a new (``conversation_id`` None) or existing conversation."""

    workspace_id: UUID
    conversation_id: UUID | None
    user: EndUser
    text: str
    max_history_turns: int = 10
    channel: str = "widget"
    # None: a caller of this process's own (the seeder, the CLI), trusted; a widget request always passes one
    access: VisitorAccess | None = None


@dataclass(frozen=True)
class MessageReceived:
    """The stored message and the history window to send to the model."""

    conversation_id: UUID
    message_id: str
    history: list[Turn]
    started: bool
    conversation: Conversation | None = None
    visitor_token: str | None = None  # issued by this message (a new conversation, or a new identity): give it once


def personal_of(user: EndUser) -> dict[str, str | None]:
    """The visitor's identity as the events keep it (personal data)."""
    return {"user_id": user.id, "email": user.email, "name": user.name}


def handle_new(cmd: ReceiveMessage, message_id: str, token: str | None = None) -> Conversation:
    """Decide: start a conversation with its first message; only the hash of its visitor token is kept (a token
    nobody holds when none is given: the seeder's conversations)."""
    text = check_message_text(cmd.text)
    token_sha256 = visitor_token_hash(token or new_visitor_token())
    conversation = Conversation(cmd.workspace_id, cmd.channel, personal_of(cmd.user), token_sha256)
    conversation.receive(message_id, text)
    return conversation


def handle_existing(cmd: ReceiveMessage, conversation: Conversation, message_id: str, token: str | None = None) -> bool:
    """Decide: add a message to the visitor's own open conversation. A widget proves it is theirs with the
    conversation's visitor token (or a verified identity). A token holder writing under another identity (the
    visitor signed in on the customer's site) takes the conversation to that identity with ``token`` as its new
    token: True then. A verified identity never takes another's conversation."""
    if conversation.workspace_id != cmd.workspace_id:
        raise NotFound(f"No conversation with id {conversation.id}.", code="conversation_not_found")
    access = cmd.access
    if access is not None and not access.verified:
        check_visitor_token(conversation.visitor_token_sha256, access.token)
    changed = conversation.end_user_id != cmd.user.id
    if changed and (access is None or access.verified):
        raise NotFound(f"No conversation with id {conversation.id}.", code="conversation_not_found")
    if changed:
        conversation.change_visitor(personal_of(cmd.user), visitor_token_hash(token or new_visitor_token()))
    conversation.receive(message_id, cmd.text)
    return changed


@dataclass(frozen=True)
class Decided:
    """A message decided but not yet stored: ``received`` as it will read once saved, ``conversation`` holding the
    new events (pending). ``commit`` stores it; until then nothing of it is durable."""

    cmd: ReceiveMessage
    received: MessageReceived
    conversation: Conversation
    token: str
    held_version: int | None = None  # the version of the held copy it was decided on (None: new, or just read)


def current(app: ChatAssistApp, decided: Decided) -> bool:
    """True when no event was stored after the held copy the message was decided on: the decision read the
    conversation as it is (another process, or an agent's action here, may have written since this process held
    it; its save would then conflict and decide again). One indexed read, made before the message's save. Blocks."""
    if decided.held_version is None:
        return True
    newer = app.recorder.select_events(decided.conversation.id, gt=decided.held_version, limit=1)
    return not newer


def reads_store(cmd: ReceiveMessage, held: Conversation | None) -> bool:
    """True when ``decide`` must read the event store (an existing conversation this process does not hold)."""
    return cmd.conversation_id is not None and not _held_ok(cmd, held)


def _held_ok(cmd: ReceiveMessage, held: Conversation | None) -> bool:
    return held is not None and held.id == cmd.conversation_id and held.workspace_id == cmd.workspace_id


def decide(app: ChatAssistApp, cmd: ReceiveMessage, held: Conversation | None = None) -> Decided:
    """Apply the message to the conversation (new, ``held`` or loaded) without saving: every refusal (unknown
    conversation, wrong visitor token, bad text, closed conversation) is raised here. Blocks only when
    ``reads_store``."""
    message_id, token = str(uuid4()), new_visitor_token()
    if cmd.conversation_id is None:
        conversation = handle_new(cmd, message_id, token)
        history = conversation.history(cmd.max_history_turns)
        return Decided(
            cmd, MessageReceived(conversation.id, message_id, history, True, conversation, token), conversation, token
        )
    from_held = held is not None and _held_ok(cmd, held)
    existing = held if held is not None and from_held else conversation_in(app, cmd.workspace_id, cmd.conversation_id)
    held_version = existing.version if from_held else None
    changed = handle_existing(cmd, existing, message_id, token)
    history = existing.history(cmd.max_history_turns)
    received = MessageReceived(cmd.conversation_id, message_id, history, False, existing, token if changed else None)
    return Decided(cmd, received, existing, token, held_version)


def commit(app: ChatAssistApp, decided: Decided, checked: Callable[[bool], None] | None = None) -> MessageReceived:
    """Store a decided message. If another process appended to the conversation since it was read, it is read again
    and the same message (same id, same token) decided on it and saved (``update``'s retries): the result then
    carries that conversation and its history. ``checked``, when given, is told first whether the held copy is
    ``current`` (False if the check failed), before the save: the caller may ask the model on it meanwhile. Blocks."""
    if checked is not None:
        try:
            fresh = current(app, decided)
        except Exception:
            fresh = False
        checked(fresh)
    try:
        app.save(decided.conversation)
    except RecordConflictError:
        if decided.received.started:  # a new conversation's id is fresh: nobody else can have written to it
            raise
    else:
        return decided.received
    cmd, message_id, token = decided.cmd, decided.received.message_id, decided.token
    assert cmd.conversation_id is not None

    def again(conv: Conversation) -> tuple[list[Turn], Conversation, bool]:
        changed = handle_existing(cmd, conv, message_id, token)
        return conv.history(cmd.max_history_turns), conv, changed

    history, saved, changed = update(app, cmd.conversation_id, Conversation, "conversation", again)
    return MessageReceived(cmd.conversation_id, message_id, history, False, saved, token if changed else None)


def execute(app: ChatAssistApp, cmd: ReceiveMessage, held: Conversation | None = None) -> MessageReceived:
    """Store the message (starting the conversation if needed) and return the history window.

    ``held`` is this conversation as this process last saved it (owned by the caller): it is tried first,
    saving a read; if another process appended since, the save conflicts and the conversation is reloaded.
    """
    return commit(app, decide(app, cmd, held))
