"""The handoff command slices and the visitor stream's view of events: given events, when a command, then events."""

from __future__ import annotations

import uuid

import pytest

from commands import _timeline as timeline
from commands.add_note import cmd as note
from commands.change_topic import cmd as topic
from commands.claim_conversation import cmd as claim
from commands.close_conversation import cmd as close
from commands.record_reply import cmd as record
from commands.reply_as_agent import cmd as reply
from commands.resolve_conversation import cmd as resolve
from commands.return_to_ai import cmd as back
from domain import handoff
from domain.conversation import Conversation
from domain.errors import Conflict, InvalidInput
from domain.escalation import decide

WS = uuid.uuid4()


def escalated() -> Conversation:
    """Given a conversation a visitor escalated by asking for a person (with its holding reply)."""
    conversation = Conversation(WS, "widget", {"user_id": "u1"})
    conversation.receive("m1", "I want to talk to a human")
    decision = decide(["I want to talk to a human"])
    holding = record.Reply("r1", decision.message or "", 1.0, decision.topic, "escalation", "rules", 1)
    record.handle(record.RecordReply(conversation.id, "m1", reply=holding, decision=decision), conversation)
    return conversation


def new_events(conversation: Conversation) -> list[str]:
    return [type(e).__name__ for e in conversation.collect_events()]


def test_an_escalation_records_its_summary_in_the_same_save_right_after_escalated() -> None:
    conversation = escalated()
    assert new_events(conversation) == [
        "Started",
        "UserMessageReceived",
        "Escalated",
        "HandoffSummarized",
        "AssistantReplied",
    ]
    assert conversation.state == handoff.QUEUED and conversation.human_handling


def test_claim_reply_note_topic_return_then_resolve_and_close_by_the_agent() -> None:
    conversation = escalated()
    conversation.collect_events()
    claim.handle(claim.ClaimConversation(WS, conversation.id, "agent-a"), conversation)
    reply.handle(reply.ReplyAsAgent(WS, conversation.id, "agent-a", "Hi, Dana here."), conversation, "a1", "Dana")
    note.handle(note.AddNote(WS, conversation.id, "agent-b", "VIP customer"), conversation, "n1")
    topic.handle(topic.ChangeTopic(WS, conversation.id, "agent-b", "Billing"), conversation)
    back.handle(back.ReturnToAI(WS, conversation.id, "agent-a"), conversation)
    resolve.handle(resolve.ResolveConversation(WS, conversation.id, "agent-b", agent=True), conversation)
    assert close.handle(close.CloseConversation(conversation.id, "agent_closed", WS, by="agent-b"), conversation)
    events = conversation.collect_events()
    assert [type(e).__name__ for e in events] == [
        "AgentClaimed",
        "AgentReplied",
        "NoteAdded",
        "TopicChanged",
        "ReturnedToAI",
        "Resolved",
        "Closed",
    ]
    replied, closed = events[1], events[-1]
    assert replied.personal == {"text": "Hi, Dana here.", "agent_name": "Dana"}  # type: ignore[attr-defined]
    assert (closed.reason, closed.by) == ("agent_closed", "agent-b")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "act",
    [
        lambda c: resolve.handle(resolve.ResolveConversation(WS, c.id, "agent-b", agent=True), c),
        lambda c: close.handle(close.CloseConversation(c.id, "agent_closed", WS, by="agent-b"), c),
        lambda c: back.handle(back.ReturnToAI(WS, c.id, "agent-b"), c),
        lambda c: reply.handle(reply.ReplyAsAgent(WS, c.id, "agent-b", "hi"), c, "a1", "B"),
        lambda c: claim.handle(claim.ClaimConversation(WS, c.id, "agent-b"), c),
    ],
)
def test_a_chat_another_agent_claimed_is_theirs(act) -> None:  # type: ignore[no-untyped-def]
    conversation = escalated()
    claim.handle(claim.ClaimConversation(WS, conversation.id, "agent-a"), conversation)
    conversation.collect_events()
    with pytest.raises(Conflict) as err:
        act(conversation)
    assert err.value.code in ("claimed_by_another_agent", "already_claimed")
    assert new_events(conversation) == []


def test_an_empty_agent_reply_is_refused() -> None:
    conversation = escalated()
    claim.handle(claim.ClaimConversation(WS, conversation.id, "agent-a"), conversation)
    conversation.collect_events()
    with pytest.raises(InvalidInput) as err:
        reply.handle(reply.ReplyAsAgent(WS, conversation.id, "agent-a", "  "), conversation, "a1", "A")
    assert err.value.code == "empty_message" and new_events(conversation) == []


def test_the_idle_close_leaves_a_queued_or_agent_chat_open_but_closes_a_resolved_one() -> None:
    idle = close.CloseConversation(uuid.uuid4(), "idle_timeout", unless_human=True)
    conversation = escalated()
    conversation.collect_events()
    assert close.handle(idle, conversation) is False
    claim.handle(claim.ClaimConversation(WS, conversation.id, "agent-a"), conversation)
    conversation.collect_events()
    assert close.handle(idle, conversation) is False and new_events(conversation) == []
    conversation.resolve("agent-a")
    assert close.handle(idle, conversation) is True
    assert new_events(conversation) == ["Resolved", "Closed"]
    ai_chat = Conversation(WS, "widget", {"user_id": "u2"})
    ai_chat.receive("m1", "hello")
    assert close.handle(idle, ai_chat) is True and ai_chat.status == "closed"


def test_the_visitor_stream_shows_agent_replies_and_state_changes_but_never_notes() -> None:
    conversation = escalated()
    conversation.claim("agent-a")
    conversation.add_note("agent-a", "n1", "secret internal note")
    conversation.agent_reply("agent-a", "a1", "Hello from a person", "Dana")
    conversation.return_to_ai("agent-a")
    conversation.close("agent_closed", by="agent-a")
    items = timeline.visitor_items(conversation.collect_events(), lambda agent_id: f"name of {agent_id}")
    assert [(i.kind, i.data.get("event")) for i in items] == [
        ("state", "escalated"),
        ("state", "claimed"),
        ("agent_message", None),
        ("state", "returned_to_ai"),
        ("state", "closed"),
    ]
    assert items[1].data["agent"] == {"name": "name of agent-a"}
    message = items[2].data
    assert (message["text"], message["agent"], message["role"]) == ("Hello from a person", {"name": "Dana"}, "agent")
    assert [i.final for i in items] == [False, False, False, False, True]
    assert all("secret" not in str(i.data) for i in items)
    assert [i.version for i in items] == sorted(i.version for i in items)


def test_an_agent_without_a_name_is_the_support_team() -> None:
    assert handoff.display_name("Dana Scully") == "Dana"
    assert handoff.display_name("   ") == handoff.display_name(None) == "Support team"
