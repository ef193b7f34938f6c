"""The Conversation aggregate: one visitor's chat with the assistant.

Personal data (the visitor's identity and every free text) lives only in the
``personal`` field of each event, so a later per-visitor cipher can encrypt
exactly that field and erase it by discarding the key (crypto-shredding,
commands/personal_data/, ADR 0044), without rewriting the shape of stored events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import handoff
from domain.clock import ClockedEvent
from domain.errors import Conflict, InvalidInput
from domain.escalation import Decision

MAX_MESSAGE_CHARS = 4000
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"
MODEL_CALL_OUTCOMES = ("ok", "error", "fell_back")
ERASED = "[erased]"  # what an erased personal text reads everywhere


class ConversationErased(Conflict):
    """The conversation's personal data was erased: it takes no new personal data."""

    code = "conversation_erased"


@dataclass(frozen=True)
class ModelCall:
    """One attempt at one provider, as the orchestrator measured it."""

    call_id: str
    provider: str
    model: str
    prompt_version: int
    attempt: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    ttft_ms: float | None
    latency_ms: float
    cost_usd: Decimal | None
    outcome: str
    error_kind: str | None = None
    request_sha256: str | None = None  # of the exact provider request (commands/ai/request.py); None: not recorded


@dataclass(frozen=True)
class Turn:
    """A message in the history window sent to the model."""

    role: str
    text: str


def check_message_text(text: object) -> str:
    """Return the stripped message or raise InvalidInput with what to fix."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(
            "The message is empty: send the visitor's question as a non-empty string.", code="empty_message"
        )
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"The message is {len(text)} characters long; the limit is {MAX_MESSAGE_CHARS}.",
            code="message_too_long",
        )
    return text.strip()


class Conversation(Aggregate):
    """A visitor's conversation in one workspace.

    The events of a person's action (AgentClaimed, AgentReplied, NoteAdded, ReturnedToAI, TopicChanged, Resolved,
    Closed) carry ``workspace_id`` since issue 17, so the audit log can place them without following every
    conversation's start; such events stored before have no ``workspace_id`` attribute (read it with ``getattr``).
    """

    class Event(ClockedEvent):
        """Every event of a conversation is stamped by domain/clock.py (the current time outside the seeder)."""

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Started(Aggregate.Created, Event):
            workspace_id: UUID
            channel: str
            personal: dict[str, Any]
            visitor_token_sha256: str | None

        class UserMessageReceived(Event):
            message_id: str
            personal: dict[str, Any]

        class EscalationOffered(Event):
            reply_to: str
            rule: str
            priority: int
            reason: str
            evidence: dict[str, Any]
            route: str
            holding_message: str
            topic: str
            personal: dict[str, Any]

        class TurnFailed(Event):
            reply_to: str
            code: str
            reason: str

        class Resolved(Event):
            by: str
            workspace_id: UUID | None

        class Closed(Event):
            reason: str
            by: str | None
            workspace_id: UUID | None

        class HandoffSummarized(Event):
            personal: dict[str, Any]

        class AgentClaimed(Event):
            agent_id: str
            previous: str
            workspace_id: UUID | None

        class AgentReplied(Event):
            message_id: str
            agent_id: str
            personal: dict[str, Any]
            workspace_id: UUID | None

        class NoteAdded(Event):
            note_id: str
            agent_id: str
            personal: dict[str, Any]
            workspace_id: UUID | None

        class ReturnedToAI(Event):
            agent_id: str
            workspace_id: UUID | None

        class TopicChanged(Event):
            topic: str
            previous: str | None
            by: str
            workspace_id: UUID | None

        class CsatRated(Event):
            score: int
            personal: dict[str, Any]

        class EscalationRecalled(Event):
            agent_id: str
            rule: str
            label: str
            reason: str
            topic: str | None
            workspace_id: UUID

        class PersonalDataErased(Event):
            erasure_id: str
            by: str | None
            reason: str
            workspace_id: UUID

    @event("Started")
    def __init__(
        self, workspace_id: UUID, channel: str, personal: dict[str, Any], visitor_token_sha256: str | None = None
    ) -> None:
        self.workspace_id = workspace_id
        self.channel = channel
        self.end_user_id = personal.get("user_id")
        # the hash of the widget's visitor token (domain/visitor_token.py); None for conversations started before
        self.visitor_token_sha256 = visitor_token_sha256
        self.status = OPEN
        self.turns: list[Turn] = []
        self.pending: list[str] = []
        self.message_ids: set[str] = set()
        self.csat: int | None = None
        self.user_turns = 0
        self.escalation: dict[str, Any] | None = None  # the last Escalated: rule, priority, route
        self.handler = handoff.AI  # domain/handoff.py: ai, queued, assigned, agent
        self.assignee: str | None = None  # the agent (account id) who claimed it
        self.returned = False  # an agent handed it back to the AI
        self.topic: str | None = None  # the last topic recorded (AI reply, escalation or an agent's change)
        self._last_escalation: dict[str, Any] = {}

    def check_open(self) -> None:
        """Raise Conflict when the conversation no longer takes messages."""
        if getattr(self, "erased", False):
            raise ConversationErased(
                "This conversation's personal data was erased; start a new one by sending no conversation_id."
            )
        if self.status == CLOSED:
            raise Conflict(
                "This conversation is closed; start a new one by sending no conversation_id.",
                code="conversation_closed",
            )

    def receive(self, message_id: str, text: str) -> None:
        """Record a visitor message; reopens a resolved conversation."""
        self.check_open()
        self._user_message_received(message_id=message_id, personal={"text": check_message_text(text)})

    @event("UserMessageReceived")
    def _user_message_received(self, message_id: str, personal: dict[str, Any]) -> None:
        self.turns.append(Turn("user", personal["text"]))
        self.pending.append(message_id)
        self.message_ids.add(message_id)
        self.user_turns += 1
        self.status = OPEN

    def check_pending(self, reply_to: str) -> None:
        """Raise Conflict unless ``reply_to`` is a visitor message still awaiting its answer."""
        if reply_to not in self.pending:
            raise Conflict(f"Message {reply_to} is not awaiting a reply.", code="not_awaiting_reply")

    def record_model_call(self, reply_to: str, call: ModelCall) -> None:
        """Record one provider attempt with its outcome."""
        self.check_pending(reply_to)
        if call.outcome not in MODEL_CALL_OUTCOMES:
            raise InvalidInput(f"Unknown model call outcome {call.outcome!r}.")
        self._model_call_made(
            workspace_id=self.workspace_id,
            reply_to=reply_to,
            call_id=call.call_id,
            provider=call.provider,
            model=call.model,
            prompt_version=call.prompt_version,
            attempt=call.attempt,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            cache_read_tokens=call.cache_read_tokens,
            cache_write_tokens=call.cache_write_tokens,
            ttft_ms=call.ttft_ms,
            latency_ms=call.latency_ms,
            cost_usd=call.cost_usd,
            cost_known=call.cost_usd is not None,
            outcome=call.outcome,
            error_kind=call.error_kind,
            request_sha256=call.request_sha256,
        )

    class ModelCallMade(Event):
        """Version 2 added ``request_sha256``, the hash of the exact provider request (None on calls recorded
        before: "not recorded")."""

        class_version = 2
        workspace_id: UUID
        reply_to: str
        call_id: str
        provider: str
        model: str
        prompt_version: int
        attempt: int
        input_tokens: int
        output_tokens: int
        cache_read_tokens: int
        cache_write_tokens: int
        ttft_ms: float | None
        latency_ms: float
        cost_usd: Decimal | None
        cost_known: bool
        outcome: str
        error_kind: str | None
        request_sha256: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Calls recorded before the request hash existed."""
            state["request_sha256"] = None

    @event(ModelCallMade)
    def _model_call_made(
        self,
        workspace_id: UUID,
        reply_to: str,
        call_id: str,
        provider: str,
        model: str,
        prompt_version: int,
        attempt: int,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int,
        cache_write_tokens: int,
        ttft_ms: float | None,
        latency_ms: float,
        cost_usd: Decimal | None,
        cost_known: bool,
        outcome: str,
        error_kind: str | None,
        request_sha256: str | None = None,
    ) -> None:
        pass

    def reply(
        self,
        message_id: str,
        reply_to: str,
        text: str,
        *,
        confidence: float,
        topic: str,
        provider: str,
        model: str,
        prompt_version: int,
        assessment: dict[str, Any] | None = None,
        knowledge: dict[str, Any] | None = None,
        question: str | None = None,
    ) -> None:
        """Record the assistant's final answer to a visitor message; ``assessment``: how the confidence was made
        (domain/assessment.py ``Confidence.to_dict`` plus the topic's sources), None for a holding message;
        ``knowledge``: the provenance, ``{"retrieved": [...], "citations": [...]}`` (domain/knowledge.py);
        ``question``: the visitor's question, kept with the reply's personal data when it is a knowledge gap."""
        self.check_pending(reply_to)
        if not 0.0 <= confidence <= 1.0:
            raise InvalidInput("confidence must be between 0 and 1.")
        self._assistant_replied(
            message_id=message_id,
            reply_to=reply_to,
            personal={"text": text, "question": question} if question else {"text": text},
            confidence=confidence,
            topic=topic,
            provider=provider,
            model=model,
            prompt_version=prompt_version,
            assessment=assessment,
            knowledge=knowledge,
        )

    class AssistantReplied(Event):
        """Version 2 added ``assessment`` (None on replies recorded before), version 3 ``knowledge``: the help
        article chunks retrieved for the turn and the articles the answer cites (None before)."""

        class_version = 3
        message_id: str
        reply_to: str
        personal: dict[str, Any]
        confidence: float
        topic: str
        provider: str
        model: str
        prompt_version: int
        assessment: dict[str, Any] | None
        knowledge: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Replies recorded before the self-assessment have no parts."""
            state["assessment"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Replies recorded before the knowledge base have no provenance."""
            state["knowledge"] = None

    @event(AssistantReplied)
    def _assistant_replied(
        self,
        message_id: str,
        reply_to: str,
        personal: dict[str, Any],
        confidence: float,
        topic: str,
        provider: str,
        model: str,
        prompt_version: int,
        assessment: dict[str, Any] | None = None,
        knowledge: dict[str, Any] | None = None,
    ) -> None:
        self.turns.append(Turn("assistant", personal["text"]))
        self.pending.remove(reply_to)
        self.message_ids.add(message_id)
        self.topic = topic

    def escalate(self, reply_to: str, decision: Decision) -> None:
        """Record that a rule hands this turn to a person: the AI does not answer it (the holding message follows
        as the turn's reply). Matched phrases are the visitor's words, so they go in ``personal``."""
        self.check_pending(reply_to)
        if not decision.escalates:
            raise InvalidInput(f"Rule {decision.rule!r} does not escalate.")
        hours: dict[str, Any] = {"after_hours": decision.after_hours, "next_open_at": decision.next_open_at}
        self._escalated(reply_to=reply_to, **_decision_fields(decision), **hours)

    class Escalated(Event):
        """Version 2 added ``after_hours`` and ``next_open_at`` (None on escalations recorded before)."""

        class_version = 2
        reply_to: str
        rule: str
        priority: int
        reason: str
        evidence: dict[str, Any]
        route: str
        holding_message: str
        topic: str
        personal: dict[str, Any]
        after_hours: bool | None
        next_open_at: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Escalations recorded before business hours were applied."""
            state["after_hours"] = None
            state["next_open_at"] = None

    @event(Escalated)
    def _escalated(
        self,
        reply_to: str,
        rule: str,
        priority: int,
        reason: str,
        evidence: dict[str, Any],
        route: str,
        holding_message: str,
        topic: str,
        personal: dict[str, Any],
        after_hours: bool | None = None,
        next_open_at: str | None = None,
    ) -> None:
        self.escalation = {"rule": rule, "priority": priority, "route": route}
        self._last_escalation = {
            "rule": rule,
            "priority": priority,
            "route": route,
            "reason": reason,
            "evidence": evidence,
            "topic": topic,
        }
        self.topic = topic
        self.recalled = False
        if self.handler not in (handoff.ASSIGNED, handoff.AGENT):
            self.handler = handoff.QUEUED

    def recall_escalation(self, agent_id: str, reason: str, label: str) -> None:
        """An agent recalls the last escalation ("not a legal matter"): the decision was wrong. ``label`` is the
        rule it should have been (corpus codes: none, p1, p2, person), ``reason`` the agent's why (the team's
        words, shown in the audit log). An open chat returns to the AI, which answers the visitor's next message
        and no longer reads the messages before the recall; a closed one only records the correction.
        Another agent's chat is theirs to recall (409); a chat whose last escalation was recalled, or that was
        never escalated by a rule, has nothing to recall (409)."""
        recallable = handoff.RECALLABLE
        if self.escalation is None or getattr(self, "recalled", False) or self.escalation["rule"] not in recallable:
            raise Conflict(
                "This conversation has no escalation by a rule to recall (none, already recalled, or no AI could "
                "answer).",
                code="nothing_to_recall",
            )
        self.check_may_handle(agent_id)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > handoff.MAX_RECALL_REASON:
            raise InvalidInput(
                f'reason must say why in 1 to {handoff.MAX_RECALL_REASON} characters (e.g. "not a legal matter").',
                code="invalid_recall",
            )
        if label not in handoff.LABELS or label == recallable[self.escalation["rule"]]:
            raise InvalidInput(
                f"label must be the rule the conversation should have had, one of {', '.join(handoff.LABELS)}, "
                f"other than the recalled one ({recallable[self.escalation['rule']]}).",
                code="invalid_recall",
            )
        self._escalation_recalled(
            agent_id=agent_id,
            rule=self.escalation["rule"],
            label=label,
            reason=reason,
            topic=self.topic,
            workspace_id=self.workspace_id,
        )

    @event("EscalationRecalled")
    def _escalation_recalled(
        self, agent_id: str, rule: str, label: str, reason: str, topic: str | None, workspace_id: UUID
    ) -> None:
        self.recalled = True
        if self.status != CLOSED:
            self.assignee = None
            self.handler = handoff.AI
            self.returned = True
            self.rules_from = len(self.turns)

    def offer_escalation(self, reply_to: str, decision: Decision) -> None:
        """Record that a person was offered beside the AI's answer to ``reply_to`` (turn limit, low confidence)."""
        if reply_to not in self.message_ids:
            raise Conflict(f"Message {reply_to} is not in this conversation.", code="unknown_message")
        if decision.action != "offer":
            raise InvalidInput(f"Rule {decision.rule!r} does not offer a person.")
        self._escalation_offered(reply_to=reply_to, **_decision_fields(decision))

    @event("EscalationOffered")
    def _escalation_offered(
        self,
        reply_to: str,
        rule: str,
        priority: int,
        reason: str,
        evidence: dict[str, Any],
        route: str,
        holding_message: str,
        topic: str,
        personal: dict[str, Any],
    ) -> None:
        pass

    def fail_turn(self, reply_to: str, code: str, reason: str) -> None:
        """Record that no answer could be given to a visitor message, and why."""
        self.check_pending(reply_to)
        self._turn_failed(reply_to=reply_to, code=code, reason=reason)

    @event("TurnFailed")
    def _turn_failed(self, reply_to: str, code: str, reason: str) -> None:
        self.pending.remove(reply_to)

    def resolve(self, by: str) -> None:
        """Mark the visitor's problem solved."""
        self.check_open()
        if self.status != RESOLVED:
            self._resolved(by=by, workspace_id=self.workspace_id)

    @event("Resolved")
    def _resolved(self, by: str, workspace_id: UUID | None = None) -> None:
        self.status = RESOLVED

    def close(self, reason: str, by: str | None = None) -> None:
        """End the conversation; it takes no more messages. Closing twice records nothing. ``by`` names the agent
        who closed it (None: the visitor or a job, as ``reason`` says)."""
        if self.status != CLOSED:
            self._closed(reason=reason, by=by, workspace_id=self.workspace_id)

    @event("Closed")
    def _closed(self, reason: str, by: str | None = None, workspace_id: UUID | None = None) -> None:
        self.status = CLOSED

    def change_visitor(self, personal: dict[str, Any], visitor_token_sha256: str) -> None:
        """The visitor holding the token now has another identity (signed in on the customer's site): the
        conversation is theirs under the new id, and the token is replaced (the old one stops working)."""
        self.check_open()
        self._visitor_changed(visitor_token_sha256=visitor_token_sha256, personal=personal)

    @event("VisitorChanged")
    def _visitor_changed(self, visitor_token_sha256: str, personal: dict[str, Any]) -> None:
        self.end_user_id = personal.get("user_id")
        self.visitor_token_sha256 = visitor_token_sha256

    @property
    def human_handling(self) -> bool:
        """True while the chat waits for or is handled by a person: the AI does not reply."""
        return self.handler in handoff.HUMAN_HANDLERS and self.status != CLOSED

    def summarize_for_handoff(self) -> None:
        """Record the summary an agent reads (and integrations send) for the last escalation."""
        if self.escalation is None:
            raise InvalidInput("There is no escalation to summarize.")
        self._handoff_summarized(personal={"summary": handoff.summarize(self.turns, self._last_escalation)})

    @event("HandoffSummarized")
    def _handoff_summarized(self, personal: dict[str, Any]) -> None:
        pass

    def claim(self, agent_id: str) -> bool:
        """An agent takes the chat over (from the queue, or live from the AI). Claiming one's own chat again
        records nothing and returns False; another agent's claim is a Conflict."""
        self.check_open()
        if self.assignee == agent_id:
            return False
        if self.assignee is not None:
            raise Conflict(
                "Another agent has already claimed this conversation; pick another one from the queue.",
                code="already_claimed",
            )
        self._agent_claimed(agent_id=agent_id, previous=self.handler, workspace_id=self.workspace_id)
        return True

    @event("AgentClaimed")
    def _agent_claimed(self, agent_id: str, previous: str, workspace_id: UUID | None = None) -> None:
        self.assignee = agent_id
        self.handler = handoff.ASSIGNED

    def check_assignee(self, agent_id: str) -> None:
        """Raise Conflict unless ``agent_id`` is the agent handling this chat."""
        if self.assignee is None:
            raise Conflict("Claim this conversation before acting on it.", code="not_claimed")
        if self.assignee != agent_id:
            raise Conflict(
                "Another agent is handling this conversation; only they can reply or return it.",
                code="claimed_by_another_agent",
            )

    def check_may_handle(self, agent_id: str) -> None:
        """Raise Conflict when another agent has claimed this chat (resolve and close are theirs to do)."""
        if self.assignee is not None and self.assignee != agent_id:
            raise Conflict(
                "Another agent is handling this conversation; only they can resolve or close it.",
                code="claimed_by_another_agent",
            )

    def agent_reply(self, agent_id: str, message_id: str, text: str, agent_name: str | None = None) -> None:
        """The assigned agent writes to the visitor; it answers every visitor message still waiting.
        ``agent_name`` is the name the visitor sees (personal data of the agent, so it sits in ``personal``)."""
        self.check_open()
        self.check_assignee(agent_id)
        personal = {"text": check_message_text(text), "agent_name": agent_name}
        self._agent_replied(message_id=message_id, agent_id=agent_id, personal=personal, workspace_id=self.workspace_id)

    @event("AgentReplied")
    def _agent_replied(
        self, message_id: str, agent_id: str, personal: dict[str, Any], workspace_id: UUID | None = None
    ) -> None:
        self.turns.append(Turn("assistant", personal["text"]))
        self.message_ids.add(message_id)
        self.pending.clear()
        self.handler = handoff.AGENT

    def add_note(self, agent_id: str, note_id: str, text: str) -> None:
        """An internal note for the team; the visitor never sees it. Allowed on closed chats too."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("The note is empty: write it as a non-empty string.", code="empty_note")
        if len(text) > handoff.MAX_NOTE_CHARS:
            raise InvalidInput(
                f"The note is {len(text)} characters long; the limit is {handoff.MAX_NOTE_CHARS}.",
                code="note_too_long",
            )
        self._note_added(
            note_id=note_id, agent_id=agent_id, personal={"text": text.strip()}, workspace_id=self.workspace_id
        )

    @event("NoteAdded")
    def _note_added(
        self, note_id: str, agent_id: str, personal: dict[str, Any], workspace_id: UUID | None = None
    ) -> None:
        pass

    def return_to_ai(self, agent_id: str) -> None:
        """The assigned agent hands the chat back: the AI answers the visitor's next message."""
        self.check_open()
        self.check_assignee(agent_id)
        self._returned_to_ai(agent_id=agent_id, workspace_id=self.workspace_id)

    @event("ReturnedToAI")
    def _returned_to_ai(self, agent_id: str, workspace_id: UUID | None = None) -> None:
        self.assignee = None
        self.handler = handoff.AI
        self.returned = True
        self.rules_from = len(self.turns)

    @property
    def turns_for_rules(self) -> list[Turn]:
        """The turns the escalation rules read: those since an agent last returned the chat to the AI. The agent
        has dealt with what came before (a legal threat read again would escalate every later message); a new
        threat after the return escalates again."""
        return self.turns[getattr(self, "rules_from", 0) :]

    def change_topic(self, topic: str, by: str) -> None:
        """An agent corrects the conversation's topic; setting the same topic records nothing."""
        if not isinstance(topic, str) or not topic.strip() or len(topic.strip()) > handoff.MAX_TOPIC_CHARS:
            raise InvalidInput(
                f"topic must be a non-empty name of at most {handoff.MAX_TOPIC_CHARS} characters.",
                code="invalid_topic",
            )
        if topic.strip() != self.topic:
            self._topic_changed(topic=topic.strip(), previous=self.topic, by=by, workspace_id=self.workspace_id)

    @event("TopicChanged")
    def _topic_changed(self, topic: str, previous: str | None, by: str, workspace_id: UUID | None = None) -> None:
        self.topic = topic

    def record_external_ticket(self, system: str, ticket_id: str) -> None:
        """Record the ticket an integration opened for this conversation (``system``: zendesk), so later updates go to
        the same ticket. Recording the same ticket again records nothing."""
        if self.external_tickets.get(system) != ticket_id:
            self._external_ticket_recorded(system=system, ticket_id=ticket_id)

    @property
    def external_tickets(self) -> dict[str, str]:
        """The tickets opened by integrations, by system (conversations from before the first have none)."""
        tickets: dict[str, str] = self.__dict__.setdefault("_external_tickets", {})
        return tickets

    @event("ExternalTicketRecorded")
    def _external_ticket_recorded(self, system: str, ticket_id: str) -> None:
        self.external_tickets[system] = ticket_id

    @property
    def state(self) -> str:
        """One state name: closed, resolved, queued, assigned, agent, returned_to_ai or ai."""
        return handoff.state_of(self.handler, self.status, self.returned)

    def erase_personal_data(self, erasure_id: str, by: str | None, reason: str) -> None:
        """Record that the conversation's data key was destroyed (``reason``: request or retention; ``by``: the
        admin, None for the retention job): its personal fields read "[erased]" from now on, here too."""
        self._personal_data_erased(erasure_id=erasure_id, by=by, reason=reason, workspace_id=self.workspace_id)

    @event("PersonalDataErased")
    def _personal_data_erased(self, erasure_id: str, by: str | None, reason: str, workspace_id: UUID) -> None:
        self.erased = True
        self.end_user_id = ERASED if self.end_user_id is not None else None
        self.turns = [Turn(t.role, ERASED) for t in self.turns]

    def rate(self, score: int, comment: str | None) -> None:
        """Record the visitor's satisfaction rating, 1 to 5; a later rating replaces it."""
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidInput("score must be a whole number from 1 to 5.", code="invalid_csat")
        if comment is not None and len(comment) > 2000:
            raise InvalidInput("comment must be at most 2,000 characters.")
        if not self.turns:
            raise Conflict("There is nothing to rate yet: the conversation has no messages.", code="nothing_to_rate")
        self._csat_rated(score=score, personal={"comment": comment})

    @event("CsatRated")
    def _csat_rated(self, score: int, personal: dict[str, Any]) -> None:
        self.csat = score

    def history(self, max_turns: int) -> list[Turn]:
        """The last ``max_turns`` exchanges, oldest first; a visitor message and its answer are one turn.

        The newest visitor message always counts, so ``max_turns=0`` still sends it.
        """
        user_indexes = [i for i, turn in enumerate(self.turns) if turn.role == "user"]
        if not user_indexes:
            return []
        keep = max(max_turns, 1)
        return self.turns[user_indexes[-min(keep, len(user_indexes))] :]


def _decision_fields(decision: Decision) -> dict[str, Any]:
    evidence = {k: v for k, v in decision.evidence.items() if k not in ("matched", "judge_reason")}
    personal: dict[str, Any] = {"matched": list(decision.evidence.get("matched", []))}
    if decision.evidence.get("judge_reason"):
        personal["judge_reason"] = decision.evidence["judge_reason"]  # the LLM judge's words may echo the visitor
    return {
        "rule": decision.rule,
        "priority": decision.priority,
        "reason": decision.reason,
        "evidence": evidence,
        "route": decision.route,
        "holding_message": decision.message,
        "topic": decision.topic,
        "personal": personal,
    }
