"""The bytes sent: a Standard Webhooks payload, Slack Block Kit messages. Serialised once, stored, never rebuilt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

PRIORITY_NAMES = {1: "urgent", 2: "high", 3: "normal", 4: "low"}


def dumps(value: Any) -> bytes:
    """Compact JSON, keys in a stable order."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str, ensure_ascii=False).encode()


def webhook_body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """``{"type", "timestamp", "data"}`` as the endpoints receive it."""
    return dumps({"type": event_type, "timestamp": timestamp.isoformat(), "data": data})


def _field(label: str, value: object) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{_plain(value)}"}


def _plain(value: object) -> str:
    text = "n/a" if value in (None, "") else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:1500]


def slack_escalation(
    conversation_id: str,
    escalation: dict[str, Any],
    visitor: dict[str, Any],
    topic: str | None,
    confidence: float | None,
    summary: str,
    monitor_url: str,
) -> bytes:
    """The escalation alert: priority, reason, visitor, topic, confidence, the handoff summary and a button that
    opens the chat in the monitor; ``text`` is the plain-text fallback (notifications, old clients)."""
    priority = escalation.get("priority")
    priority_name = PRIORITY_NAMES.get(priority, str(priority)) if isinstance(priority, int) else "normal"
    who = visitor.get("name") or visitor.get("email") or visitor.get("user_id") or "anonymous visitor"
    if visitor.get("email") and visitor.get("name"):
        who = f"{visitor['name']} <{visitor['email']}>"
    shown_confidence = f"{confidence:.0%}" if isinstance(confidence, (int, float)) else None
    reason = escalation.get("reason") or escalation.get("rule")
    text = f"Escalation ({priority_name}): {reason}, {who}, topic {topic or 'none'}. {summary[:300]}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Escalation: {priority_name} priority"}},
        {
            "type": "section",
            "fields": [
                _field("Priority", priority_name),
                _field("Reason", reason),
                _field("Visitor", who),
                _field("Topic", topic),
                _field("Confidence", shown_confidence),
                _field("Route", escalation.get("route")),
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Handoff summary*\n{_plain(summary)}"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open in monitor"},
                    "url": monitor_url,
                    "style": "primary",
                    "action_id": "open_monitor",
                }
            ],
        },
    ]
    return dumps({"text": text, "blocks": blocks, "metadata": {"conversation_id": conversation_id}})


def slack_resolution(conversation_id: str, topic: str | None, by: str, csat: int | None, monitor_url: str) -> bytes:
    """The resolution summary that follows an alert."""
    text = f"Resolved by {by}: conversation {conversation_id}, topic {topic or 'none'}."
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Resolved* by {_plain(by)} · topic {_plain(topic)}"},
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open in monitor"},
                "url": monitor_url,
                "action_id": "open_monitor",
            },
        }
    ]
    return dumps({"text": text, "blocks": blocks, "metadata": {"conversation_id": conversation_id}})


def _tag(value: object) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(value).lower())[:80]


def zendesk_ticket(
    op: str,
    conversation_id: str,
    *,
    status: str,
    comment: str,
    subject: str | None = None,
    topic: str | None = None,
    channel: str | None = None,
    priority: int | None = None,
    group_id: int | None = None,
    visitor: dict[str, Any] | None = None,
) -> bytes:
    """A Zendesk ticket to create (``op`` create) or a change to the conversation's ticket (``op`` update)."""
    ticket: dict[str, Any] = {"status": status, "comment": {"body": comment[:60000], "public": False}}
    if op == "create":
        tags = [
            "chatassist",
            *(f"topic_{_tag(topic)}" for t in [topic] if t),
            *(f"channel_{_tag(channel)}" for c in [channel] if c),
        ]
        ticket |= {
            "subject": (subject or f"Chat {conversation_id}")[:250],
            "tags": tags,
            "external_id": conversation_id,
        }
        if isinstance(priority, int):
            ticket["priority"] = PRIORITY_NAMES.get(priority, "normal")
        if group_id is not None:
            ticket["group_id"] = group_id
        if visitor and visitor.get("email"):
            ticket["requester"] = {"email": visitor["email"], "name": visitor.get("name") or visitor["email"]}
    return dumps({"op": op, "conversation_id": conversation_id, "ticket": ticket})


def transcript_text(turns: list[dict[str, Any]] | None) -> str:
    """The transcript as a ticket comment: one paragraph per message."""
    names = {"user": "Visitor", "assistant": "AI", "agent": "Agent"}
    return "\n\n".join(f"{names.get(t.get('role', ''), 'Note')}: {t.get('text') or ''}" for t in turns or [])


def hubspot_note(
    conversation_id: str,
    visitor: dict[str, Any],
    summary: str,
    topic: str | None,
    csat: int | None,
    link: str,
) -> bytes:
    """The contact to upsert (by email) and the note to associate with it."""
    lines = [
        f"ChatAssist conversation {conversation_id}",
        f"Summary: {summary}",
        f"Topic: {topic or 'none'}",
        f"CSAT: {csat if csat is not None else 'not rated'}",
        f"Transcript: {link}",
    ]
    name = str(visitor.get("name") or "")
    first, _, last = name.partition(" ")
    contact = {
        "email": visitor["email"],
        **({"firstname": first} if first else {}),
        **({"lastname": last} if last else {}),
    }
    return dumps({"conversation_id": conversation_id, "contact": contact, "note": "\n".join(lines)})
