"""One conversation as the chat monitor shows it: the agent's view (commands/_timeline.agent_view, read from the
conversation's events) arranged for the page, with the names of the people in it and the figures of its cards.

Blocking (event-store reads): call ``read_chat`` from a worker thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from commands import _timeline as timeline
from commands._common import load
from commands._prompt_config import live_prompt
from commands.application import ChatAssistApp
from domain import handoff
from domain.account import Account
from domain.errors import NotFound
from domain.escalation import DEFAULT_RULES, rules_from
from web.pages import monitor_labels as labels

NAMES_TTL_S = 60.0
THRESHOLD_TTL_S = 30.0
_names: dict[str, tuple[float, str]] = {}
_thresholds: dict[UUID, tuple[float, float]] = {}
HOLDING = "escalation"  # the provider of an escalation's holding message: the rule's, not an AI answer


def name_of(app: ChatAssistApp, who: str | None) -> str | None:
    """A member's account name ("Dana Scully") from an account id, kept a minute; "the AI", "the visitor" and
    other non-ids as they are."""
    if who is None:
        return None
    try:
        account_id = UUID(who)
    except ValueError:
        return {"visitor": "the visitor", "ai": "the AI", "system": "the system"}.get(who, who)
    now = time.monotonic()
    hit = _names.get(who)
    if hit is not None and now - hit[0] < NAMES_TTL_S:
        return hit[1]
    try:
        name = load(app, account_id, Account, "account", read_only=True).name or "A team member"
    except NotFound:
        name = "A former team member"
    if len(_names) > 10_000:
        _names.clear()
    _names[who] = (now, name)
    return name


def low_confidence_threshold(app: ChatAssistApp, workspace_id: UUID) -> float:
    """The workspace's confidence threshold (its live prompt version's escalation logic, else the default)."""
    now = time.monotonic()
    hit = _thresholds.get(workspace_id)
    if hit is not None and now - hit[0] < THRESHOLD_TTL_S:
        return hit[1]
    live = live_prompt(app, workspace_id)
    value = rules_from(live.content.escalation).low_confidence if live else DEFAULT_RULES.low_confidence
    _thresholds[workspace_id] = (now, value)
    return value


@dataclass(frozen=True)
class Entry:
    """One line of the transcript: a message (visitor, ai, agent, note) or a step (event)."""

    kind: str  # visitor | ai | agent | note | event
    at: datetime
    who: str
    text: str
    meta: str = ""


@dataclass
class Chat:
    """Everything the conversation page shows."""

    id: UUID
    state: str
    status: str
    handler: str
    topic: str | None
    channel: str
    started_at: datetime
    visitor: str
    assignee: str | None
    assignee_name: str | None
    mine: bool
    claimed_at: datetime | None
    confidence: float | None
    threshold: float
    escalation: dict[str, Any] | None
    wait: str
    wait_note: str
    entries: list[Entry] = field(default_factory=list)
    turns: int = 0

    @property
    def open(self) -> bool:
        """Takes messages and actions (not closed)."""
        return self.status != "closed"

    @property
    def chip(self) -> tuple[str, str]:
        """The state's label and class."""
        return labels.state_chip(self.state)

    @property
    def live_view(self) -> str:
        """The monitor view whose live stream carries this conversation's changes (web/pages/monitor_page.py)."""
        return "closed" if self.state in ("resolved", "closed") else "active"

    @property
    def handled_by(self) -> str:
        """Who answers the visitor now: the agent, nobody yet (waiting), or the AI."""
        if self.status == "closed":
            return f"nobody: the chat is closed{f' (last {self.assignee_name})' if self.assignee_name else ''}"
        if self.assignee_name:
            return self.assignee_name
        return "nobody yet (waiting for a person)" if self.handler == "queued" else "the AI"

    @property
    def below_threshold(self) -> bool:
        """The AI's last confidence is under the workspace's threshold."""
        return self.confidence is not None and self.confidence < self.threshold


def _visitor(v: dict[str, str | None]) -> str:
    return v.get("name") or v.get("email") or labels.visitor_label(v.get("user_id"))


def _entry(item: dict[str, Any], visitor: str, who: Any) -> Entry | None:
    kind, at, text = item["kind"], item["at"], item.get("text") or ""
    if kind == "visitor_message":
        return Entry("visitor", at, visitor, text)
    if kind == "ai_message":
        if item.get("provider") == HOLDING:
            return Entry("ai", at, "AI Assistant", text, "holding message")
        confidence = item.get("confidence")
        meta = f"{item.get('model')} · confidence {confidence * 100:.0f}%" if confidence is not None else ""
        return Entry("ai", at, "AI Assistant", text, meta)
    if kind == "agent_message":
        full = who(item.get("agent_id"))
        return Entry("agent", at, full or item.get("agent_name") or "Agent", text, f"shown as {item.get('agent_name')}")
    if kind == "note":
        return Entry("note", at, who(item.get("agent_id")) or "Agent", text, "internal note")
    if kind == "escalated":
        reason = labels.short_reason(item.get("rule"), item.get("reason"), item.get("evidence"))
        team = item.get("route") or "support"
        return Entry("event", at, "", f"Escalated to the {team} team: {reason}")
    if kind == "escalation_offered":
        reason = labels.short_reason(item.get("rule"), item.get("reason"), item.get("evidence"))
        return Entry("event", at, "", f"A person was offered: {reason}")
    if kind == "claimed":
        return Entry("event", at, "", f"{who(item.get('agent_id'))} claimed the chat")
    if kind == "returned_to_ai":
        return Entry("event", at, "", f"{who(item.get('agent_id'))} returned the chat to the AI")
    if kind == "escalation_recalled":
        label = RECALL_LABELS.get(item.get("label") or "", item.get("label"))
        return Entry("event", at, "", f"{who(item.get('agent_id'))} recalled the escalation ({item.get('reason')}): "
                                      f"{label}; the chat is back with the AI")  # fmt: skip
    if kind == "topic_changed":
        was = f" (was {item['previous']})" if item.get("previous") else ""
        return Entry("event", at, "", f"{who(item.get('by'))} changed the topic to {item.get('topic')}{was}")
    if kind == "turn_failed":
        return Entry("event", at, "", f"The AI could not answer ({item.get('code')})")
    if kind == "resolved":
        return Entry("event", at, "", f"Resolved by {who(item.get('by'))}")
    if kind == "closed":
        by = who(item.get("by")) or {"visitor_closed": "the visitor"}.get(item.get("reason") or "", "the system")
        return Entry("event", at, "", f"Closed by {by} ({str(item.get('reason') or '').replace('_', ' ')})")
    if kind == "csat":
        comment = f": “{text}”" if text else ""
        return Entry("event", at, "", f"The visitor rated the chat {item.get('score')}★{comment}")
    return None  # the summary: shown in its own card


RECALL_LABELS = {
    "none": "no rule applied",
    "p1": "it was a legal matter",
    "p2": "it was a refund over the threshold",
    "person": "the visitor asked for a person",
}


def _escalation(view: dict[str, Any]) -> dict[str, Any] | None:
    e = view.get("escalation")
    if e is None:
        return None
    return {
        **e,
        "priority_label": labels.priority_label(e.get("priority")),
        "title": labels.rule_title(e.get("rule")),
        "short": labels.short_reason(e.get("rule"), e.get("reason"), e.get("evidence")),
        "facts": labels.evidence_facts(e.get("rule"), e.get("evidence"), e.get("matched")),
        "layers": labels.layers(e.get("evidence")),
        "next_open": datetime.fromisoformat(e["next_open_at"]) if e.get("next_open_at") else None,
        "recallable": e.get("rule") in handoff.RECALLABLE and e.get("recalled") is None,
        "label_choices": [(k, v) for k, v in RECALL_LABELS.items() if k != handoff.RECALLABLE.get(e.get("rule") or "")],
    }


def _wait(view: dict[str, Any], escalation: dict[str, Any] | None, now: datetime, who: Any) -> tuple[str, str]:
    """The escalation's wait: how long it has waited (queued), or waited until an agent claimed it."""
    if escalation is None:
        return "—", "Not escalated"
    since = escalation["at"]
    if view["state"] == "queued":
        return labels.waited(since, now), "waiting for a person since the escalation"
    claim = next(
        (i for i in view["timeline"] if i["kind"] == "claimed" and i["seq"] > escalation["seq"]),
        None,
    )
    if claim is not None:
        return labels.waited(since, claim["at"]), f"until {who(claim.get('agent_id'))} claimed it"
    return "—", "nobody claimed it"


def read_chat(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, me: UUID) -> Chat:
    """The conversation page's content (NotFound for another workspace's or a missing conversation)."""
    view = timeline.agent_view(app, workspace_id, conversation_id)
    visitor = _visitor(view["visitor"])

    def who(account: str | None) -> str | None:
        return name_of(app, account)

    entries = [e for e in (_entry(i, visitor, who) for i in view["timeline"]) if e is not None]
    answers = [i for i in view["timeline"] if i["kind"] == "ai_message" and i.get("provider") != HOLDING]
    claims = [i for i in view["timeline"] if i["kind"] == "claimed"]
    escalation = _escalation(view)
    if escalation is not None and escalation.get("recalled"):
        escalation["recalled_by"] = who(escalation["recalled"].get("agent_id")) or "An agent"
    wait, wait_note = _wait(view, escalation, datetime.now(UTC), who)
    assignee = view["assignee"]
    return Chat(
        id=conversation_id,
        state=view["state"],
        status=view["status"],
        handler=view["handler"],
        topic=view["topic"],
        channel=view["channel"],
        started_at=view["started_at"],
        visitor=visitor,
        assignee=assignee,
        assignee_name=who(assignee),
        mine=assignee == str(me),
        claimed_at=claims[-1]["at"] if claims and assignee else None,
        confidence=answers[-1].get("confidence") if answers else None,
        threshold=low_confidence_threshold(app, workspace_id),
        escalation=escalation,
        wait=wait,
        wait_note=wait_note,
        entries=entries,
        turns=sum(1 for i in view["timeline"] if i["kind"] == "visitor_message"),
    )
