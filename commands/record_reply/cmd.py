"""RecordReply: every model attempt with its outcome, then the answer or the failure, in one write; with an
escalation decision, ``Escalated`` and ``HandoffSummarized`` before the holding reply, or ``EscalationOffered``
after the answer; with a failure, ``Escalated`` and ``HandoffSummarized`` after the attempts and before
``TurnFailed`` (no AI answer: the conversation is queued for a person)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.conversation import Conversation, ModelCall
from domain.escalation import Decision


@dataclass(frozen=True)
class Reply:
    """The assistant's final answer and how it was produced."""

    message_id: str
    text: str
    confidence: float
    topic: str
    provider: str
    model: str
    prompt_version: int
    assessment: dict[str, Any] | None = None  # how the confidence was made (domain/assessment.py)
    knowledge: dict[str, Any] | None = None  # retrieved chunks and cited articles (domain/knowledge.py)
    question: str | None = None  # the visitor's question, kept (as personal data) when it is a knowledge gap


@dataclass(frozen=True)
class Failure:
    """Why no answer could be given."""

    code: str
    reason: str


@dataclass(frozen=True)
class RecordReply:
    """Exactly one of ``reply`` and ``failure`` is set."""

    conversation_id: UUID
    reply_to: str
    calls: list[ModelCall] = field(default_factory=list)
    reply: Reply | None = None
    failure: Failure | None = None
    decision: Decision | None = None


def handle(cmd: RecordReply, conversation: Conversation) -> None:
    """Decide: record attempts, then the answer or the failure."""
    if (cmd.reply is None) == (cmd.failure is None):
        raise ValueError("RecordReply needs exactly one of reply and failure")
    decision = cmd.decision if cmd.decision is not None and cmd.decision.action != "none" else None
    if cmd.failure is not None:
        # no answer: the attempts, then (budget spent, providers down) the queue for a person, then the failure
        for call in cmd.calls:
            conversation.record_model_call(cmd.reply_to, call)
        if decision is not None and decision.escalates:
            conversation.escalate(cmd.reply_to, decision)
            conversation.summarize_for_handoff()
        conversation.fail_turn(cmd.reply_to, cmd.failure.code, cmd.failure.reason)
        return
    if decision is not None and decision.escalates:
        conversation.escalate(cmd.reply_to, decision)
        conversation.summarize_for_handoff()  # for the agent and the integrations, in the same save
    for call in cmd.calls:
        conversation.record_model_call(cmd.reply_to, call)
    if cmd.reply is not None:
        r = cmd.reply
        conversation.reply(
            r.message_id,
            cmd.reply_to,
            r.text,
            confidence=r.confidence,
            topic=r.topic,
            provider=r.provider,
            model=r.model,
            prompt_version=r.prompt_version,
            assessment=r.assessment,
            knowledge=r.knowledge,
            question=r.question,
        )
        if decision is not None and not decision.escalates:
            conversation.offer_escalation(cmd.reply_to, decision)


def execute(app: ChatAssistApp, cmd: RecordReply, loaded: Conversation | None = None) -> Conversation:
    """Save the whole outcome of a turn atomically; ``loaded`` is the aggregate as last saved, if held.

    Returns the conversation as saved.
    """

    def decide(conversation: Conversation) -> Conversation:
        handle(cmd, conversation)
        return conversation

    return update(app, cmd.conversation_id, Conversation, "conversation", decide, loaded=loaded)
