"""The human handoff: who handles a conversation, and the summary an agent reads when it is escalated.

A conversation's ``handler`` is one of:

- ``ai``: the assistant answers (the start, and after an agent returns the chat to the AI);
- ``queued``: an escalation rule fired; the chat waits in its team's queue, the AI stays silent;
- ``assigned``: an agent claimed it and has not written yet; the AI stays silent;
- ``agent``: the agent is talking to the visitor; the AI stays silent.

``returned_to_ai`` is the state name the monitor shows for ``ai`` after an agent handed the chat back.
Resolved and closed are the conversation's ``status``, beside the handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

AI, QUEUED, ASSIGNED, AGENT = "ai", "queued", "assigned", "agent"
RETURNED_TO_AI = "returned_to_ai"
HUMAN_HANDLERS = frozenset({QUEUED, ASSIGNED, AGENT})  # the AI does not reply in these
MAX_NOTE_CHARS = 4000
MAX_RECALL_REASON = 200
RECALLABLE = {"p1_legal": "p1", "p2_refund_over_threshold": "p2", "human_requested": "person"}  # rule: corpus code
LABELS = ("none", "p1", "p2", "person")  # what a recalled escalation should have been (the corpus's rule codes)
MAX_TOPIC_CHARS = 60
SUMMARY_MESSAGE_CHARS = 280
SUMMARY_MAX_MESSAGES = 8


class _Turn(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def text(self) -> str: ...


def _clip(text: str, limit: int = SUMMARY_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summarize(turns: Sequence[_Turn], escalation: dict[str, Any]) -> str:
    """A plain-text summary for the agent and the integrations: why the chat was escalated, the facts the rule
    found, what the visitor asked (their messages, oldest first, the first and the last ones kept when there are
    many) and the assistant's last answer. Extractive and deterministic: no model is called."""
    visitor = [t.text for t in turns if t.role == "user"]
    answers = [t.text for t in turns if t.role != "user"]
    lines = [
        f"Escalated by rule {escalation.get('rule')} (priority {escalation.get('priority')}) "
        f"to the {escalation.get('route') or 'support'} team: {escalation.get('reason')}",
        f"Topic: {escalation.get('topic') or 'Other'}. Visitor messages: {len(visitor)}.",
    ]
    evidence = escalation.get("evidence") or {}
    if evidence.get("amount") is not None:
        currency = evidence.get("currency") or "no currency stated"
        lines.append(f"Amount asked for: {evidence['amount']} ({currency}); threshold {evidence.get('threshold')}.")
    if len(visitor) > SUMMARY_MAX_MESSAGES:
        head, tail = visitor[:2], visitor[-(SUMMARY_MAX_MESSAGES - 2) :]
        shown = [*head, f"({len(visitor) - len(head) - len(tail)} more messages)", *tail]
    else:
        shown = visitor
    lines.append("The visitor wrote:")
    lines += [f"- {_clip(text)}" for text in shown]
    if answers:
        lines.append(f"Last answer the visitor saw: {_clip(answers[-1])}")
    return "\n".join(lines)


def state_of(handler: str, status: str, returned: bool) -> str:
    """The one state name the monitor shows: closed, resolved, queued, assigned, agent, returned_to_ai or ai."""
    if status in ("closed", "resolved"):
        return status
    if handler == AI and returned:
        return RETURNED_TO_AI
    return handler


SUPPORT_TEAM = "Support team"


def display_name(account_name: str | None) -> str:
    """The name a visitor sees on an agent's message: the first word of the agent's account name (a first name,
    as most support desks show), or "Support team" when the account has none."""
    words = (account_name or "").split()
    return words[0][:40] if words else SUPPORT_TEAM
