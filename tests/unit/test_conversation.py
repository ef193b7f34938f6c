"""The Conversation aggregate: given events, when a command, then events or an error."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from commands.record_reply import cmd as record
from domain.conversation import MAX_MESSAGE_CHARS, Conversation, ModelCall
from domain.errors import Conflict, InvalidInput
from domain.escalation import decide


def started() -> Conversation:
    conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "u1", "email": "a@b.c", "name": "Ann"})
    conversation.collect_events()
    return conversation


def call(outcome: str = "ok", attempt: int = 1, cost: Decimal | None = Decimal("0.001")) -> ModelCall:
    return ModelCall(
        "c1",
        "anthropic",
        "claude-sonnet-4-6",
        1,
        attempt,
        10,
        5,
        0,
        0,
        12.0,
        30.0,
        cost,
        outcome,
        None if outcome == "ok" else "server_error",
    )


def names(conversation: Conversation) -> list[str]:
    return [type(e).__name__ for e in conversation.collect_events()]


def test_personal_data_lives_only_in_the_personal_field() -> None:
    conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "u1", "email": "a@b.c", "name": "Ann"})
    conversation.receive("m1", "  my card was charged twice  ")
    created, received = conversation.collect_events()
    assert created.personal == {"user_id": "u1", "email": "a@b.c", "name": "Ann"}  # type: ignore[attr-defined]
    assert received.personal == {"text": "my card was charged twice"}  # type: ignore[attr-defined]
    assert "a@b.c" not in repr({k: v for k, v in vars(created).items() if k != "personal"})


def test_a_reply_needs_a_pending_user_message() -> None:
    conversation = started()
    with pytest.raises(Conflict) as err:
        conversation.reply(
            "a1", "m-unknown", "hi", confidence=0.5, topic="Other", provider="p", model="m", prompt_version=1
        )
    assert err.value.code == "not_awaiting_reply"
    assert names(conversation) == []


def test_a_turn_records_calls_then_the_reply_and_clears_the_pending_message() -> None:
    conversation = started()
    conversation.receive("m1", "hello?")
    conversation.record_model_call("m1", call("error", 1))
    conversation.record_model_call("m1", call("ok", 2))
    conversation.reply(
        "a1",
        "m1",
        "Hi!",
        confidence=0.9,
        topic="Other",
        provider="anthropic",
        model="claude-sonnet-4-6",
        prompt_version=1,
    )
    assert names(conversation) == [
        "UserMessageReceived",
        "ModelCallMade",
        "ModelCallMade",
        "AssistantReplied",
    ]
    with pytest.raises(Conflict):
        conversation.reply(
            "a2", "m1", "again", confidence=0.9, topic="Other", provider="p", model="m", prompt_version=1
        )


def test_unknown_cost_is_recorded_as_unknown_not_zero() -> None:
    conversation = started()
    conversation.receive("m1", "hello?")
    conversation.record_model_call("m1", call(cost=None))
    (event,) = conversation.collect_events()[1:]
    assert event.cost_usd is None and event.cost_known is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty_message"), ("   ", "empty_message"), ("x" * (MAX_MESSAGE_CHARS + 1), "message_too_long")],
)
def test_bad_messages_are_refused_with_a_code(text: str, code: str) -> None:
    conversation = started()
    with pytest.raises(InvalidInput) as err:
        conversation.receive("m1", text)
    assert err.value.code == code
    assert names(conversation) == []


def test_a_closed_conversation_takes_no_messages_and_closing_twice_records_once() -> None:
    conversation = started()
    conversation.close("visitor_closed")
    conversation.close("visitor_closed")
    assert names(conversation) == ["Closed"]
    with pytest.raises(Conflict) as err:
        conversation.receive("m1", "hello")
    assert err.value.code == "conversation_closed"


def test_a_new_message_reopens_a_resolved_conversation() -> None:
    conversation = started()
    conversation.receive("m1", "q")
    conversation.resolve("visitor")
    conversation.resolve("visitor")
    conversation.receive("m2", "one more thing")
    assert names(conversation) == ["UserMessageReceived", "Resolved", "UserMessageReceived"]
    assert conversation.status == "open"


@pytest.mark.parametrize("score", [0, 6, -1, True, "5"])
def test_csat_is_a_whole_number_from_1_to_5(score: object) -> None:
    conversation = started()
    conversation.receive("m1", "q")
    conversation.collect_events()
    with pytest.raises(InvalidInput):
        conversation.rate(score, None)  # type: ignore[arg-type]
    conversation.rate(5, "great")
    assert names(conversation) == ["CsatRated"] and conversation.csat == 5


def test_nothing_to_rate_before_any_message() -> None:
    with pytest.raises(Conflict):
        started().rate(4, None)


def test_history_window_counts_exchanges_and_always_keeps_the_newest_message() -> None:
    conversation = started()
    for i in range(1, 4):
        conversation.receive(f"m{i}", f"q{i}")
        conversation.reply(
            f"a{i}", f"m{i}", f"r{i}", confidence=1, topic="Other", provider="p", model="m", prompt_version=1
        )
    conversation.receive("m4", "q4")
    texts = lambda n: [t.text for t in conversation.history(n)]  # noqa: E731
    assert texts(0) == ["q4"]
    assert texts(1) == ["q4"]
    assert texts(2) == ["q3", "r3", "q4"]
    assert texts(10) == ["q1", "r1", "q2", "r2", "q3", "r3", "q4"]


def test_an_escalation_comes_before_the_holding_reply_and_keeps_the_visitors_words_personal() -> None:
    conversation = started()
    conversation.receive("m1", "I'm calling my lawyer about the $900 charge")
    conversation.collect_events()
    decision = decide(["I'm calling my lawyer about the $900 charge"])
    reply = record.Reply("r1", decision.message or "", 1.0, decision.topic, "escalation", "rules", 1)
    record.handle(record.RecordReply(conversation.id, "m1", reply=reply, decision=decision), conversation)
    escalated, summarized, replied = conversation.collect_events()
    assert [type(e).__name__ for e in (escalated, summarized, replied)] == [
        "Escalated",
        "HandoffSummarized",
        "AssistantReplied",
    ]
    assert "p1_legal" in summarized.personal["summary"] and "lawyer" in summarized.personal["summary"]
    assert escalated.rule == "p1_legal" and escalated.route == "legal" and escalated.priority == 1
    assert "lawyer" in escalated.personal["matched"] and "matched" not in escalated.evidence
    assert conversation.escalation == {"rule": "p1_legal", "priority": 1, "route": "legal"}


def test_an_offer_follows_the_answer_and_a_decision_that_does_not_escalate_cannot() -> None:
    conversation = started()
    conversation.receive("m1", "still broken")
    conversation.collect_events()
    offer = decide(["still broken"], turns=6, confidence=0.9)
    with pytest.raises(InvalidInput):
        conversation.escalate("m1", offer)
    reply = record.Reply("r1", "Try this.", 0.9, "Other", "anthropic", "claude-sonnet-4-6", 1)
    record.handle(record.RecordReply(conversation.id, "m1", [call()], reply=reply, decision=offer), conversation)
    assert names(conversation) == ["ModelCallMade", "AssistantReplied", "EscalationOffered"]
