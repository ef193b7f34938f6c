"""A conversation read from its own events: the agent's full view, and what the visitor's live stream shows.

Both read the event store (owned by the command side's Application) rather than a projection, on purpose: the
visitor stream must not lose or delay an agent's reply behind a projection's lag, and the agent's view shows what
no read model keeps (notes, the escalation's summary and evidence). Notes never leave ``agent_view``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from commands.application import ChatAssistApp
from domain import handoff
from domain.conversation import Conversation
from domain.errors import NotFound

VISITOR_EVENTS = ("agent_message", "state")


def _missing(conversation_id: UUID) -> NotFound:
    return NotFound(f"No conversation with id {conversation_id}.", code="conversation_not_found")


def check_in(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID) -> None:
    """Raise NotFound unless the conversation exists in this workspace (one read: its first event)."""
    first = next(iter(app.events.get(conversation_id, lte=1)), None)
    if not isinstance(first, Conversation.Started) or first.workspace_id != workspace_id:
        raise _missing(conversation_id)


def events_after(app: ChatAssistApp, conversation_id: UUID, after: int) -> list[Any]:
    """The conversation's events with a version above ``after``, oldest first."""
    return list(app.events.get(conversation_id, gt=after if after > 0 else None))


@dataclass(frozen=True)
class VisitorItem:
    """One message of the visitor stream: ``version`` is the SSE id (resume with Last-Event-ID or ?after=)."""

    version: int
    kind: str  # agent_message | state
    data: dict[str, Any]
    final: bool = False  # the conversation is closed: nothing visible can follow


def _iso(event: Any) -> str:
    return str(event.timestamp.isoformat())


def visitor_items(events: list[Any], name_of: Callable[[str], str]) -> list[VisitorItem]:
    """What the visitor may see of these events: agent replies (with the agent's shown name) and state changes.
    Notes, model calls, escalation details and the visitor's own messages are left out."""
    items: list[VisitorItem] = []
    for e in events:
        v, at = e.originator_version, _iso(e)
        if isinstance(e, Conversation.AgentReplied):
            name = e.personal.get("agent_name") or handoff.SUPPORT_TEAM
            data = {"message_id": e.message_id, "text": e.personal["text"], "agent": {"name": name}, "at": at}
            items.append(VisitorItem(v, "agent_message", {"role": "agent", **data}))
        elif isinstance(e, Conversation.AgentClaimed):
            data = {"state": "assigned", "event": "claimed", "agent": {"name": name_of(e.agent_id)}, "at": at}
            items.append(VisitorItem(v, "state", data))
        elif isinstance(e, Conversation.Escalated):
            items.append(VisitorItem(v, "state", {"state": "queued", "event": "escalated", "at": at}))
        elif isinstance(e, Conversation.ReturnedToAI):
            data = {"state": handoff.RETURNED_TO_AI, "event": "returned_to_ai", "at": at}
            items.append(VisitorItem(v, "state", data))
        elif isinstance(e, Conversation.EscalationRecalled):
            data = {"state": handoff.RETURNED_TO_AI, "event": "escalation_recalled", "at": at}
            items.append(VisitorItem(v, "state", data))
        elif isinstance(e, Conversation.Resolved):
            by = "visitor" if e.by == "visitor" else "agent"
            items.append(VisitorItem(v, "state", {"state": "resolved", "event": "resolved", "by": by, "at": at}))
        elif isinstance(e, Conversation.Closed):
            by = "agent" if getattr(e, "by", None) else "visitor" if e.reason == "visitor_closed" else "system"
            data = {"state": "closed", "event": "closed", "reason": e.reason, "by": by, "at": at}
            items.append(VisitorItem(v, "state", data, final=True))
    return items


def _item(e: Any) -> dict[str, Any] | None:
    """One timeline entry of the agent's view (None: not shown, e.g. each model attempt)."""
    base: dict[str, Any] = {"seq": e.originator_version, "at": e.timestamp}
    p = getattr(e, "personal", {}) or {}
    if isinstance(e, Conversation.UserMessageReceived):
        return {**base, "kind": "visitor_message", "message_id": e.message_id, "text": p["text"]}
    if isinstance(e, Conversation.AssistantReplied):
        fields = {"confidence": e.confidence, "topic": e.topic, "provider": e.provider, "model": e.model}
        fields |= {"message_id": e.message_id, "reply_to": e.reply_to, "text": p["text"]}
        return {**base, "kind": "ai_message", **fields}
    if isinstance(e, Conversation.AgentReplied):
        fields = {"message_id": e.message_id, "agent_id": e.agent_id, "agent_name": p.get("agent_name")}
        return {**base, "kind": "agent_message", **fields, "text": p["text"]}
    if isinstance(e, Conversation.NoteAdded):
        return {**base, "kind": "note", "note_id": e.note_id, "agent_id": e.agent_id, "text": p["text"]}
    if isinstance(e, Conversation.Escalated | Conversation.EscalationOffered):
        kind = "escalated" if isinstance(e, Conversation.Escalated) else "escalation_offered"
        fields = {"rule": e.rule, "priority": e.priority, "reason": e.reason, "route": e.route, "evidence": e.evidence}
        hours = {"after_hours": getattr(e, "after_hours", None), "next_open_at": getattr(e, "next_open_at", None)}
        matched = {"matched": p.get("matched")} if p.get("matched") is not None else {}  # the visitor's words
        return {**base, "kind": kind, "reply_to": e.reply_to, **fields, **hours, **matched}
    if isinstance(e, Conversation.HandoffSummarized):
        return {**base, "kind": "summary", "text": p["summary"]}
    if isinstance(e, Conversation.AgentClaimed):
        return {**base, "kind": "claimed", "agent_id": e.agent_id, "previous": e.previous}
    if isinstance(e, Conversation.ReturnedToAI):
        return {**base, "kind": "returned_to_ai", "agent_id": e.agent_id}
    if isinstance(e, Conversation.EscalationRecalled):
        fields = {"agent_id": e.agent_id, "rule": e.rule, "label": e.label, "reason": e.reason}
        return {**base, "kind": "escalation_recalled", **fields}
    if isinstance(e, Conversation.TopicChanged):
        return {**base, "kind": "topic_changed", "topic": e.topic, "previous": e.previous, "by": e.by}
    if isinstance(e, Conversation.TurnFailed):
        return {**base, "kind": "turn_failed", "reply_to": e.reply_to, "code": e.code, "text": e.reason}
    if isinstance(e, Conversation.Resolved):
        return {**base, "kind": "resolved", "by": e.by}
    if isinstance(e, Conversation.Closed):
        return {**base, "kind": "closed", "reason": e.reason, "by": getattr(e, "by", None)}
    if isinstance(e, Conversation.CsatRated):
        return {**base, "kind": "csat", "score": e.score, "text": p.get("comment")}
    return None


def agent_view(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID) -> dict[str, Any]:
    """The whole conversation as an agent reads it: state, assignee, visitor, the last escalation with its
    summary, and every message, note and handoff step in order."""
    events = events_after(app, conversation_id, 0)
    if not events or not isinstance(events[0], Conversation.Started) or events[0].workspace_id != workspace_id:
        raise _missing(conversation_id)
    conversation = project_aggregate(None, events)
    assert isinstance(conversation, Conversation)
    timeline = [item for item in map(_item, events) if item is not None]
    escalation = next((dict(i) for i in reversed(timeline) if i["kind"] == "escalated"), None)
    if escalation is not None:
        summaries = [i for i in timeline if i["kind"] == "summary" and i["seq"] > escalation["seq"]]
        escalation["summary"] = summaries[0]["text"] if summaries else None
        recalls = [i for i in timeline if i["kind"] == "escalation_recalled" and i["seq"] > escalation["seq"]]
        escalation["recalled"] = recalls[0] if recalls else None
    started = events[0].personal
    return {
        "conversation_id": conversation_id,
        "version": conversation.version,
        "state": conversation.state,
        "status": conversation.status,
        "handler": conversation.handler,
        "assignee": conversation.assignee,
        "human_handling": conversation.human_handling,
        "topic": conversation.topic,
        "channel": conversation.channel,
        "csat": conversation.csat,
        "started_at": events[0].timestamp,
        "visitor": {k: started.get(k) for k in ("user_id", "email", "name")},
        "escalation": escalation,
        "timeline": timeline,
    }
