"""/api/agent/conversations/{id}: the human handoff, for agents and admins (see docs/handoff.md).

Writes need ``conversations.handle``; the agent's view needs ``chat.monitor``. The agent is the signed-in account.
Another workspace's conversation is a 404, like a missing one; a refused request writes nothing. After each write
the visitor's live stream is woken through Redis (web/live.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, get, post, put

from commands import _timeline as timeline
from commands.add_note import cmd as note_cmd
from commands.change_topic import cmd as topic_cmd
from commands.chat_turn.service import ChatService
from commands.claim_conversation import cmd as claim_cmd
from commands.close_conversation import cmd as close_cmd
from commands.recall_escalation import cmd as recall_cmd
from commands.reply_as_agent import cmd as reply_cmd
from commands.resolve_conversation import cmd as resolve_cmd
from commands.return_to_ai import cmd as return_cmd
from domain.conversation import Conversation
from web.auth import Member
from web.conversation_commands import change_conversation
from web.guards import GUARDS
from web.live import ConversationSignals

HANDLE = [GUARDS["conversations.handle"]]
READ = [GUARDS["chat.monitor"]]
Text = Annotated[str, msgspec.Meta(max_length=8000)]  # the domain's own limits (4,000) answer with their code


class TextBody(msgspec.Struct, forbid_unknown_fields=True):
    """A reply to the visitor, or an internal note: 1 to 4,000 characters."""

    text: Text


class TopicBody(msgspec.Struct, forbid_unknown_fields=True):
    """The conversation's topic, 1 to 60 characters."""

    topic: Text


class RecallBody(msgspec.Struct, forbid_unknown_fields=True):
    """Why the escalation was wrong (1 to 200 characters, the team's words: the audit log shows them) and the rule
    the conversation should have had: none (default), p1, p2 or person."""

    reason: Text
    label: Annotated[str, msgspec.Meta(max_length=20)] = "none"


class HandoffView(msgspec.Struct):
    """The conversation after the action: ``state`` one of ai, queued, assigned, agent, returned_to_ai, resolved,
    closed; ``version`` the conversation's event version; ``message_id`` / ``note_id`` what a reply / note made."""

    conversation_id: UUID
    state: str
    assignee: str | None
    topic: str | None
    version: int
    message_id: str | None = None
    note_id: str | None = None


class TimelineItem(msgspec.Struct, omit_defaults=True):
    """One step, in order. ``kind``: visitor_message, ai_message, agent_message, note (internal), escalated,
    escalation_offered, summary (the handoff summary), claimed, returned_to_ai, escalation_recalled (``rule`` recalled,
    ``label`` it should have been, ``reason``), topic_changed, turn_failed, resolved, closed, csat. Fields beyond seq,
    kind and at depend on the kind."""

    seq: int
    kind: str
    at: datetime
    message_id: str | None = None
    note_id: str | None = None
    reply_to: str | None = None
    text: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    confidence: float | None = None
    topic: str | None = None
    provider: str | None = None
    model: str | None = None
    rule: str | None = None
    priority: int | None = None
    reason: str | None = None
    route: str | None = None
    evidence: dict[str, Any] | None = None
    matched: list[str] | None = None  # escalated / escalation_offered: the visitor's words the rule matched
    after_hours: bool | None = None  # escalated outside business hours (next_open_at: when a person answers)
    next_open_at: str | None = None
    previous: str | None = None
    by: str | None = None
    code: str | None = None
    score: int | None = None
    label: str | None = None


class AgentConversationView(msgspec.Struct):
    """The whole conversation from its events; ``escalation`` is the last Escalated with its ``summary``."""

    conversation_id: UUID
    version: int
    state: str
    status: str
    handler: str
    assignee: str | None
    human_handling: bool
    topic: str | None
    channel: str
    csat: int | None
    started_at: datetime
    visitor: dict[str, str | None]
    escalation: dict[str, Any] | None
    timeline: list[TimelineItem]


def view(conversation: Conversation, **made: str) -> HandoffView:
    """The response of an action."""
    c = conversation
    return HandoffView(c.id, c.state, c.assignee, c.topic, c.version, **made)


class AgentController(Controller):
    """Claim, reply, notes, return to AI, resolve, close, topic; and the agent's view of a conversation."""

    path = "/api/agent/conversations/{conversation_id:uuid}"
    tags = ["handoff"]

    @get("", operation_id="getAgentConversation", guards=READ, summary="The whole conversation, for an agent")
    async def get_conversation(
        self, conversation_id: UUID, chat: ChatService, current_member: Member
    ) -> AgentConversationView:
        """Messages, notes, the escalation with its summary, state and assignee, read from the events."""
        found = await anyio.to_thread.run_sync(
            timeline.agent_view, chat.app, current_member.workspace_id, conversation_id
        )
        return msgspec.convert(found, AgentConversationView, from_attributes=True)

    @post("/claim", operation_id="claimConversation", guards=HANDLE, status_code=200, summary="Take the chat over")
    async def claim(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """The AI stops answering; 409 already_claimed when another agent has it (claiming one's own: no change)."""
        command = claim_cmd.ClaimConversation(
            current_member.workspace_id, conversation_id, str(current_member.account_id)
        )
        saved = await change_conversation(chat.app, claim_cmd.execute, command, conversation_id, conversation_signals)
        return view(saved)

    @post("/reply", operation_id="replyAsAgent", guards=HANDLE, status_code=201, summary="Write to the visitor")
    async def reply(
        self,
        conversation_id: UUID,
        data: TextBody,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """Only the assignee, only while open; the visitor sees it live, with the agent's first name."""
        command = reply_cmd.ReplyAsAgent(
            current_member.workspace_id, conversation_id, str(current_member.account_id), data.text
        )
        saved, message_id = await change_conversation(
            chat.app, reply_cmd.execute, command, conversation_id, conversation_signals
        )
        return view(saved, message_id=message_id)

    @post("/notes", operation_id="addNote", guards=HANDLE, status_code=201, summary="Add an internal note")
    async def add_note(
        self, conversation_id: UUID, data: TextBody, chat: ChatService, current_member: Member
    ) -> HandoffView:
        """For the team only: never in the visitor's transcript or stream."""
        command = note_cmd.AddNote(
            current_member.workspace_id, conversation_id, str(current_member.account_id), data.text
        )
        saved, note_id = await change_conversation(chat.app, note_cmd.execute, command, conversation_id)
        return view(saved, note_id=note_id)

    @post(
        "/return-to-ai",
        operation_id="returnToAI",
        guards=HANDLE,
        status_code=200,
        summary="Hand the chat back to the AI",
    )
    async def return_to_ai(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """Only the assignee; the AI answers the visitor's next message."""
        command = return_cmd.ReturnToAI(current_member.workspace_id, conversation_id, str(current_member.account_id))
        saved = await change_conversation(chat.app, return_cmd.execute, command, conversation_id, conversation_signals)
        return view(saved)

    @post(
        "/recall-escalation",
        operation_id="recallEscalation",
        guards=HANDLE,
        status_code=200,
        summary="Recall a wrong escalation",
    )
    async def recall_escalation(
        self,
        conversation_id: UUID,
        data: RecallBody,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """The last escalation was wrong ("not a legal matter"): recorded with who and why (the audit log), the chat
        returns to the AI (docs/escalation.md, "Recalling an escalation"); 409 nothing_to_recall or
        claimed_by_another_agent, 422 invalid_recall."""
        agent = str(current_member.account_id)
        command = recall_cmd.RecallEscalation(
            current_member.workspace_id, conversation_id, agent, data.reason, data.label
        )
        saved = await anyio.to_thread.run_sync(recall_cmd.execute, chat.app, command)
        await conversation_signals.changed(conversation_id)
        return view(saved)

    @post("/resolve", operation_id="resolveAsAgent", guards=HANDLE, status_code=200, summary="Mark it resolved")
    async def resolve(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """Resolved by this agent (a chat another agent claimed is theirs: 409)."""
        agent = str(current_member.account_id)
        command = resolve_cmd.ResolveConversation(current_member.workspace_id, conversation_id, agent, agent=True)
        saved = await change_conversation(chat.app, resolve_cmd.execute, command, conversation_id, conversation_signals)
        return view(saved)

    @post("/close", operation_id="closeAsAgent", guards=HANDLE, status_code=200, summary="End the conversation")
    async def close(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        conversation_signals: ConversationSignals,
    ) -> HandoffView:
        """Closed by this agent (reason agent_closed); the visitor's stream ends."""
        agent = str(current_member.account_id)
        command = close_cmd.CloseConversation(conversation_id, "agent_closed", current_member.workspace_id, by=agent)
        saved = await change_conversation(chat.app, close_cmd.execute, command, conversation_id, conversation_signals)
        return view(saved)

    @put("/topic", operation_id="changeTopic", guards=HANDLE, status_code=200, summary="Correct the topic")
    async def topic(
        self, conversation_id: UUID, data: TopicBody, chat: ChatService, current_member: Member
    ) -> HandoffView:
        """Any agent of the workspace; the same topic again records nothing."""
        command = topic_cmd.ChangeTopic(
            current_member.workspace_id, conversation_id, str(current_member.account_id), data.topic
        )
        saved = await change_conversation(chat.app, topic_cmd.execute, command, conversation_id)
        return view(saved)
