"""A replay as a readable timeline, one line per event (``chatassist audit replay``, the Markdown export)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from commands.replay_conversation.events import ReplayedEvent

TEXT_CHARS = 120


def _quote(text: object) -> str:
    value = str(text or "").replace("\n", " ")
    return '"' + (value if len(value) <= TEXT_CHARS else value[: TEXT_CHARS - 1] + "…") + '"'


def summary(e: ReplayedEvent) -> str:
    """What happened, in a few words (texts quoted and shortened)."""
    p: dict[str, Any] = e.payload
    personal = p.get("personal") or {}
    name = e.type
    if name == "Started":
        return f"conversation started on {p.get('channel')} by visitor {personal.get('user_id')}"
    if name == "UserMessageReceived":
        return f"visitor: {_quote(personal.get('text'))}"
    if name == "ModelCallMade":
        cost = f"${p['cost_usd']}" if p.get("cost_usd") is not None else "cost unknown"
        digest = p.get("request_sha256")
        request = f"request sha256 {digest[:12]}…" if digest else "request hash not recorded"
        error = f" ({p['error_kind']})" if p.get("error_kind") else ""
        return (
            f"model call #{p['attempt']} {p['provider']}/{p['model']} prompt v{p['prompt_version']}: "
            f"{p['outcome']}{error}, {p['input_tokens']} in / {p['output_tokens']} out tokens "
            f"({p['cache_read_tokens']} cached), {p['latency_ms']} ms, {cost}; {request}"
        )
    if name == "AssistantReplied":
        return (
            f"assistant ({p['provider']}/{p['model']}, confidence {p['confidence']}, topic {p['topic']}): "
            f"{_quote(personal.get('text'))}"
        )
    if name in ("Escalated", "EscalationOffered"):
        verb = "escalated" if name == "Escalated" else "offered a person"
        rule = f"{verb} by rule {p['rule']} (P{p['priority']}, route {p['route']})"
        return f"{rule}: {p['reason']}; evidence {p['evidence']}"
    if name == "AgentReplied":
        return f"agent {personal.get('agent_name') or p['agent_id']}: {_quote(personal.get('text'))}"
    if name == "NoteAdded":
        return f"internal note by {p['agent_id']}: {_quote(personal.get('text'))}"
    if name == "AgentClaimed":
        return f"claimed by agent {p['agent_id']} (was {p['previous']})"
    if name == "ReturnedToAI":
        return f"returned to the AI by agent {p['agent_id']}"
    if name == "TopicChanged":
        return f"topic changed from {p['previous']} to {p['topic']} by {p['by']}"
    if name == "TurnFailed":
        return f"turn failed: {p['code']}: {p['reason']}"
    if name == "Resolved":
        return f"resolved by {p['by']}"
    if name == "Closed":
        return f"closed ({p['reason']})" + (f" by {p['by']}" if p.get("by") else "")
    if name == "CsatRated":
        return f"rated {p['score']}/5" + (f": {_quote(personal['comment'])}" if personal.get("comment") else "")
    if name == "HandoffSummarized":
        return f"handoff summary: {_quote(personal.get('summary'))}"
    return ", ".join(f"{k}={v}" for k, v in p.items())


def lines(events: Iterable[ReplayedEvent]) -> Iterator[str]:
    """``v<version>  <time>  <actor>  <summary>`` per event."""
    for e in events:
        actor = f"{e.actor['kind']}" + (f":{e.actor['id']}" if e.actor.get("id") else "")
        yield f"v{e.version:<4} {e.time.isoformat(timespec='milliseconds')}  {actor:<40} {summary(e)}"
