"""The state of a conversation as it was at a version or an instant, folded by the aggregate itself.

The events up to the point are read from the store and applied with each event's own ``mutate`` (what the library's
repository does), so the answer is exactly what the live ``Conversation`` held at that version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from commands.application import ChatAssistApp
from commands.replay_conversation.events import REDACTED, plain, started
from domain.conversation import Conversation
from domain.errors import InvalidInput


@dataclass(frozen=True)
class ReplayedState:
    """The conversation at ``version`` (the event at ``time``); ``last_version``: how many events it has now."""

    conversation_id: UUID
    version: int
    time: datetime
    last_version: int
    state: dict[str, Any]


def state_of(conversation: Conversation, personal: bool = True) -> dict[str, Any]:
    """What a Conversation holds, as plain values (turn texts and the visitor's id masked without ``personal``)."""
    return {
        "workspace_id": str(conversation.workspace_id),
        "channel": conversation.channel,
        "end_user_id": conversation.end_user_id if personal else REDACTED,
        "status": conversation.status,
        "state": conversation.state,
        "handler": conversation.handler,
        "assignee": conversation.assignee,
        "returned": conversation.returned,
        "topic": conversation.topic,
        "csat": conversation.csat,
        "user_turns": conversation.user_turns,
        "pending": list(conversation.pending),
        "escalation": plain(conversation.escalation),
        "turns": [{"role": t.role, "text": t.text if personal else REDACTED} for t in conversation.turns],
    }


def parse_instant(at: str) -> datetime:
    """An ISO datetime (UTC without an offset), or 422 invalid_instant."""
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(
            f"at must be an ISO datetime such as 2026-12-07T09:30:00Z, got {str(at)[:40]!r}.", code="invalid_instant"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def state_at(
    app: ChatAssistApp,
    workspace_id: UUID,
    conversation_id: UUID,
    *,
    at_version: int | None = None,
    at: datetime | None = None,
    personal: bool = True,
) -> ReplayedState:
    """The conversation at ``at_version``, or as it was at instant ``at`` (the last event at or before it), or
    now. 422 ``ambiguous_point``, ``invalid_version``, ``version_past_end``, ``before_conversation_start``;
    404 ``conversation_not_found``. Blocks."""
    if at_version is not None and at is not None:
        raise InvalidInput("Give at_version or at, not both.", code="ambiguous_point")
    if at_version is not None and (isinstance(at_version, bool) or not isinstance(at_version, int) or at_version < 1):
        raise InvalidInput(
            "at_version must be a whole number from 1 (the conversation's first event).", code="invalid_version"
        )
    events: list[Any] = list(app.events.get(conversation_id))
    first = started(app, workspace_id, conversation_id, events[0] if events else None)
    last = events[-1].originator_version
    if at_version is not None and at_version > last:
        raise InvalidInput(
            f"This conversation has {last} events: pick at_version from 1 to {last}.", code="version_past_end"
        )
    if at is not None:
        if at < first.timestamp:
            raise InvalidInput(
                f"The conversation began at {first.timestamp.isoformat()}: pick an instant at or after it.",
                code="before_conversation_start",
            )
        at_version = max(e.originator_version for e in events if e.timestamp <= at)
    upto = at_version if at_version is not None else last
    aggregate: Any = None
    for e in events[:upto]:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, Conversation)
    return ReplayedState(conversation_id, upto, events[upto - 1].timestamp, last, state_of(aggregate, personal))
