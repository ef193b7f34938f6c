"""Shared plumbing for command handlers: load-decide-save with optimistic-concurrency retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from commands.application import ChatAssistApp
from domain.account import Account, AccountEmailIndex, email_index_id
from domain.conversation import Conversation
from domain.errors import Conflict, NotFound
from domain.workspace import WidgetKeyIndex, Workspace, widget_index_id

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")

CONFLICT_RETRIES = 5


def load(app: ChatAssistApp, aggregate_id: UUID, kind: type[A], what: str, *, read_only: bool = False) -> A:
    """Load an aggregate or raise NotFound naming ``what``; ``read_only`` skips the defensive copy."""
    try:
        aggregate: object = app.repository.get(aggregate_id, deepcopy_from_cache=not read_only)
    except AggregateNotFoundError:
        raise NotFound(f"No {what} with id {aggregate_id}.", code=f"{what.replace(' ', '_')}_not_found") from None
    if not isinstance(aggregate, kind):
        raise NotFound(f"No {what} with id {aggregate_id}.", code=f"{what.replace(' ', '_')}_not_found")
    return aggregate


def update(
    app: ChatAssistApp,
    aggregate_id: UUID,
    kind: type[A],
    what: str,
    decide: Callable[[A], R],
    *,
    loaded: A | None = None,
) -> R:
    """Load, apply ``decide`` (which raises on a rule violation), save; retry on a concurrent write.

    ``loaded`` is an aggregate the caller already holds (and has not changed since its last save):
    it is tried first, saving a read; a conflict falls back to a fresh load.
    """
    for attempt in range(CONFLICT_RETRIES):
        aggregate = loaded if loaded is not None and attempt == 0 else load(app, aggregate_id, kind, what)
        result = decide(aggregate)
        try:
            app.save(aggregate)
        except RecordConflictError:
            if attempt == CONFLICT_RETRIES - 1:
                raise Conflict(
                    f"The {what} changed while we were saving; try again.", code="concurrent_update"
                ) from None
            continue
        return result
    raise AssertionError("unreachable")


def workspace_id_for_key(app: ChatAssistApp, widget_key: str) -> UUID:
    """Resolve a public widget key to its workspace id, or raise NotFound (mapped to 401 by the web layer)."""
    try:
        index: object = app.repository.get(widget_index_id(widget_key), deepcopy_from_cache=False)
    except AggregateNotFoundError:
        raise NotFound("Unknown widget key.", code="unknown_widget_key") from None
    assert isinstance(index, WidgetKeyIndex)
    return index.workspace_id


def workspace_for_key(app: ChatAssistApp, widget_key: str) -> Workspace:
    """The workspace of a widget key, for reading only."""
    return load(app, workspace_id_for_key(app, widget_key), Workspace, "workspace", read_only=True)


def conversation_in(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID) -> Conversation:
    """Load a conversation of this workspace; another workspace's looks exactly like a missing one."""
    conversation = load(app, conversation_id, Conversation, "conversation")
    if conversation.workspace_id != workspace_id:
        raise NotFound(f"No conversation with id {conversation_id}.", code="conversation_not_found")
    return conversation


def account_for_email(app: ChatAssistApp, email: str) -> Account | None:
    """The account registered with this (normalised) email, or None: one read of the email index."""
    try:
        index: object = app.repository.get(email_index_id(email), deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return None
    assert isinstance(index, AccountEmailIndex)
    return load(app, index.account_id, Account, "account")
