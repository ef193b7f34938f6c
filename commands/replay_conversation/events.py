"""A conversation's events as an auditor reads them: type, version, time, actor and payload, in stream order.

Read from the event store by the aggregate's id (``app.events``), decoded by the same mapper and upcasters as the
aggregate itself. ``personal`` fields (the visitor's identity and texts, an agent's shown name) are masked for a
caller without ``audit.personal``: the keys stay, each value reads ``[redacted]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.application import ChatAssistApp
from domain.conversation import Conversation
from domain.errors import InvalidInput, NotFound

MAX_LIMIT, DEFAULT_LIMIT = 500, 100
REDACTED = "[redacted]"
_META = ("originator_id", "originator_version", "timestamp")
_STARTED: Any = Conversation.Started


@dataclass(frozen=True)
class ReplayedEvent:
    """One stored event: ``type`` (its class name), ``version`` in the stream, ``time`` (UTC), ``actor`` (kind:
    visitor, ai, rules, agent or system; id), ``payload`` (every other field)."""

    type: str
    version: int
    time: datetime
    actor: dict[str, str | None]
    payload: dict[str, Any]


@dataclass(frozen=True)
class EventsPage:
    """A page of events after version ``after``; ``next_after`` is the cursor of the next page (None: the end)."""

    conversation_id: UUID
    workspace_id: UUID
    items: list[ReplayedEvent]
    next_after: int | None


def plain(value: Any) -> Any:
    """JSON-ready: Decimal as a string, UUID as a string, datetime ISO, containers recursively."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def actor_of(e: Any) -> dict[str, str | None]:
    """Who caused an event, from its own fields (the visitor's id is personal: ``payload.personal.user_id``)."""
    name = type(e).__name__
    if name in ("Started", "UserMessageReceived", "CsatRated"):
        return {"kind": "visitor", "id": None}
    if name == "ModelCallMade":
        return {"kind": "ai", "id": f"{e.provider}/{e.model}"}
    if name == "AssistantReplied":
        return (
            {"kind": "rules", "id": None}
            if e.provider == "escalation"
            else {"kind": "ai", "id": f"{e.provider}/{e.model}"}
        )
    if name in ("Escalated", "EscalationOffered"):
        return {"kind": "rules", "id": e.rule}
    if name in ("AgentClaimed", "AgentReplied", "NoteAdded", "ReturnedToAI"):
        return {"kind": "agent", "id": str(e.agent_id)}
    if name == "TopicChanged":
        return {"kind": "agent", "id": str(e.by)}
    if name == "Resolved":
        return {"kind": "visitor", "id": None} if e.by == "visitor" else {"kind": "agent", "id": str(e.by)}
    if name == "Closed" and e.by is not None:
        return {"kind": "agent", "id": str(e.by)}
    return {"kind": "system", "id": None}


def replayed(e: Any, personal: bool) -> ReplayedEvent:
    """An auditor's view of one domain event."""
    payload = {k: plain(v) for k, v in vars(e).items() if k not in _META}
    if not personal and isinstance(payload.get("personal"), dict):
        payload["personal"] = {k: REDACTED for k in payload["personal"]}
    return ReplayedEvent(type(e).__name__, e.originator_version, e.timestamp, actor_of(e), payload)


def check_limit(limit: object) -> int:
    """1 to MAX_LIMIT, or 422 invalid_limit / limit_too_large."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidInput("limit must be a whole number from 1 to 500.", code="invalid_limit")
    if limit > MAX_LIMIT:
        raise InvalidInput(f"limit is at most {MAX_LIMIT}: page with next_after.", code="limit_too_large")
    return limit


def check_after(after: object) -> int:
    """A version (0: from the start), or 422 invalid_cursor."""
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InvalidInput(
            "after must be a version number, 0 or more (the next_after of a page).", code="invalid_cursor"
        )
    return after


def started(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, first: Any = None) -> Any:
    """The conversation's first event (``first`` when the caller read it already), or 404 ``conversation_not_found``
    (also for another workspace's)."""
    if first is None or first.originator_version != 1:
        first = next(iter(app.events.get(conversation_id, lte=1)), None)
    if not isinstance(first, _STARTED) or first.workspace_id != workspace_id:
        raise NotFound(f"No conversation with id {conversation_id}.", code="conversation_not_found")
    return first


def events_page(
    app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, after: int = 0, limit: int = DEFAULT_LIMIT,
    *, personal: bool = True,
) -> EventsPage:  # fmt: skip
    """Up to ``limit`` events after version ``after``, in order. Blocks."""
    check_after(after)
    check_limit(limit)
    found = list(app.events.get(conversation_id, gt=after, limit=limit + 1))
    started(app, workspace_id, conversation_id, found[0] if found else None)  # one read from the start
    items = [replayed(e, personal) for e in found[:limit]]
    next_after = items[-1].version if len(found) > limit else None
    return EventsPage(conversation_id, workspace_id, items, next_after)


def all_events(
    app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, *, personal: bool = True, batch: int = 500
) -> Iterator[ReplayedEvent]:
    """Every event in order, read ``batch`` at a time (an export never holds a whole stream). Blocks."""
    after = 0
    while True:
        page = events_page(app, workspace_id, conversation_id, after, batch, personal=personal)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def workspace_of(app: ChatAssistApp, conversation_id: UUID) -> UUID:
    """The workspace a conversation belongs to (for the CLI, which has no session), or 404."""
    first = next(iter(app.events.get(conversation_id, lte=1)), None)
    if not isinstance(first, _STARTED):
        raise NotFound(f"No conversation with id {conversation_id}.", code="conversation_not_found")
    return UUID(str(first.workspace_id))
