"""The human handoff on the Conversation aggregate: given events, when an agent acts, then events or an error."""

from __future__ import annotations

import uuid

import pytest

from commands.record_reply import cmd as record
from domain import handoff
from domain.conversation import Conversation
from domain.errors import Conflict, InvalidInput
from domain.escalation import decide


def names(conversation: Conversation) -> list[str]:
    return [type(e).__name__ for e in conversation.collect_events()]


def escalated(text: str = "I want a refund of $450 for last month, I was charged twice") -> Conversation:
    """Given a conversation escalated by a rule, with its holding reply."""
    conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "u1"})
    conversation.receive("m1", text)
    decision = decide([text])
    reply = record.Reply("r1", decision.message or "", 1.0, decision.topic, "escalation", "rules", 1)
    record.handle(record.RecordReply(conversation.id, "m1", reply=reply, decision=decision), conversation)
    conversation.collect_events()
    return conversation


def test_an_escalation_queues_the_chat_and_the_summary_names_rule_amount_and_the_visitors_words() -> None:
    conversation = escalated()
    assert conversation.handler == handoff.QUEUED and conversation.human_handling
    assert conversation.state == "queued"
    conversation.summarize_for_handoff()
    (event,) = conversation.collect_events()
    assert type(event).__name__ == "HandoffSummarized"
    summary = event.personal["summary"]  # type: ignore[attr-defined]
    assert "p2_refund_over_threshold" in summary and "billing" in summary
    assert "Amount asked for: 450" in summary and "USD" in summary
    assert "I was charged twice" in summary


def test_a_long_conversation_summary_keeps_the_first_and_last_messages() -> None:
    conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "u1"})
    for n in range(12):
        conversation.receive(f"m{n}", f"message number {n}")
        conversation.reply(f"r{n}", f"m{n}", f"answer {n}", confidence=0.9, topic="Other", provider="p", model="m",
                           prompt_version=1)  # fmt: skip
    summary = handoff.summarize(conversation.turns, {"rule": "human_requested", "priority": 3, "reason": "asked"})
    assert "message number 0" in summary and "message number 11" in summary
    assert "message number 5" not in summary and "(4 more messages)" in summary
    assert "Last answer the visitor saw: answer 11" in summary


def test_claim_reply_note_and_return_to_ai() -> None:
    conversation = escalated()
    conversation.receive("m2", "hello? anyone there?")
    assert conversation.claim("agent-a") is True
    assert conversation.state == "assigned" and conversation.assignee == "agent-a"
    conversation.agent_reply("agent-a", "a1", "Hi, I'm Dana from billing. Let me look at the double charge.")
    assert conversation.state == "agent" and conversation.pending == []
    conversation.add_note("agent-b", "n1", "Customer since 2019; refund approved by finance before.")
    conversation.return_to_ai("agent-a")
    assert conversation.state == "returned_to_ai" and not conversation.human_handling
    assert conversation.assignee is None
    assert names(conversation) == [
        "UserMessageReceived",
        "AgentClaimed",
        "AgentReplied",
        "NoteAdded",
        "ReturnedToAI",
    ]


def test_claiming_twice_is_idempotent_and_another_agents_claim_conflicts() -> None:
    conversation = escalated()
    conversation.claim("agent-a")
    conversation.collect_events()
    assert conversation.claim("agent-a") is False
    assert names(conversation) == []
    with pytest.raises(Conflict) as err:
        conversation.claim("agent-b")
    assert err.value.code == "already_claimed"


@pytest.mark.parametrize(
    ("act", "code"),
    [
        (lambda c: c.agent_reply("agent-a", "a1", "hi"), "not_claimed"),
        (lambda c: c.return_to_ai("agent-a"), "not_claimed"),
    ],
)
def test_acting_before_claiming_conflicts(act, code) -> None:  # type: ignore[no-untyped-def]
    conversation = escalated()
    with pytest.raises(Conflict) as err:
        act(conversation)
    assert err.value.code == code
    assert names(conversation) == []


def test_only_the_assignee_replies_or_returns_and_a_closed_chat_takes_no_reply() -> None:
    conversation = escalated()
    conversation.claim("agent-a")
    with pytest.raises(Conflict) as err:
        conversation.agent_reply("agent-b", "a1", "hi")
    assert err.value.code == "claimed_by_another_agent"
    with pytest.raises(Conflict):
        conversation.return_to_ai("agent-b")
    conversation.close("agent", by="agent-a")
    with pytest.raises(Conflict) as err:
        conversation.agent_reply("agent-a", "a2", "hi")
    assert err.value.code == "conversation_closed"
    assert conversation.state == "closed" and not conversation.human_handling


@pytest.mark.parametrize(("text", "code"), [("   ", "empty_note"), ("x" * 4001, "note_too_long")])
def test_bad_notes_are_refused(text: str, code: str) -> None:
    conversation = escalated()
    with pytest.raises(InvalidInput) as err:
        conversation.add_note("agent-a", "n1", text)
    assert err.value.code == code


def test_an_agent_changes_the_topic_and_the_same_topic_records_nothing() -> None:
    conversation = escalated()
    assert conversation.topic == "Refunds & Cancellation"
    conversation.change_topic("Billing", by="agent-a")
    conversation.change_topic("Billing", by="agent-a")
    (event,) = conversation.collect_events()
    assert (event.topic, event.previous, event.by) == ("Billing", "Refunds & Cancellation", "agent-a")  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        conversation.change_topic(" ", by="agent-a")


def test_an_agent_takes_over_a_live_ai_chat_without_an_escalation() -> None:
    conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "u1"})
    conversation.receive("m1", "how do I export my data?")
    conversation.claim("agent-a")
    *_, claimed = conversation.collect_events()
    assert claimed.previous == "ai"  # type: ignore[attr-defined]
    assert conversation.human_handling


def test_after_a_return_to_the_ai_the_rules_read_only_the_messages_since() -> None:
    # Given a chat escalated for a legal threat, claimed and answered by an agent, then returned to the AI
    conversation = escalated("This is fraud, my lawyer will be contacting you about a lawsuit")
    assert decide([t.text for t in conversation.turns_for_rules if t.role == "user"]).rule == "p1_legal"
    conversation.claim("agent-a")
    conversation.agent_reply("agent-a", "a1", "I'm sorry, let me look into it.")
    conversation.return_to_ai("agent-a")
    # When the visitor asks something else
    conversation.receive("m2", "Thanks. How do I export my data?")
    visitor = [t.text for t in conversation.turns_for_rules if t.role == "user"]
    # I expect the rules to read that message only: the threat the agent dealt with does not escalate again
    assert visitor == ["Thanks. How do I export my data?"]
    assert decide(visitor).rule == "none"
    # and a new threat after the return escalates again
    conversation.receive("m3", "Then I will sue you.")
    assert decide([t.text for t in conversation.turns_for_rules if t.role == "user"]).rule == "p1_legal"
    # and the whole history is still there for the model and the agent
    assert next(t.text for t in conversation.turns if t.role == "user").startswith("This is fraud")
