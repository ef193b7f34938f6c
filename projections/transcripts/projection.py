"""The transcript read model: conversations and their messages, as a visitor or agent reads them.

Agent replies are messages of role ``agent``; internal notes (NoteAdded) are not subscribed to and never appear.
``handler`` follows domain/handoff.py (ai, queued, assigned, agent) so the idle-close job can spare chats a person
handles.
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.conversation import ERASED, Conversation
from projections._common import Statement, TrackedView

PREFIX = "transcript_v2"
CONVERSATIONS, MESSAGES = f"{PREFIX}_conversations", f"{PREFIX}_messages"


class TranscriptView(TrackedView):
    """Tables ``transcript_v2_*`` (created by migrations/0004) plus this projection's tracking table."""

    prefix: ClassVar[str] = PREFIX


def _touch(view: TranscriptView, event: Any) -> Statement:
    return (
        f"UPDATE {view.table('conversations')} SET last_activity_at = %(at)s, version = %(v)s WHERE id = %(id)s",
        {"at": event.timestamp, "v": event.originator_version, "id": event.originator_id},
    )


def _message(view: TranscriptView, event: Any, role: str, **fields: Any) -> Statement:
    row = {
        "conversation_id": event.originator_id,
        "seq": event.originator_version,
        "role": role,
        "at": event.timestamp,
        "message_id": None,
        "reply_to": None,
        "text": None,
        "provider": None,
        "model": None,
        "confidence": None,
        "topic": None,
        "prompt_version": None,
        "error_code": None,
        "agent_name": None,
        **fields,
    }
    cols = ", ".join(row)
    vals = ", ".join(f"%({k})s" for k in row)
    return f"INSERT INTO {view.table('messages')} ({cols}) VALUES ({vals})", row


class TranscriptProjection(Projection[TranscriptView]):
    """Keeps one row per conversation and one per visible message."""

    name = "transcripts_v2"
    topics: tuple[str, ...] = tuple(
        get_topic(cls)
        for cls in (
            Conversation.Started,
            Conversation.UserMessageReceived,
            Conversation.AssistantReplied,
            Conversation.TurnFailed,
            Conversation.Resolved,
            Conversation.Closed,
            Conversation.CsatRated,
            Conversation.Escalated,
            Conversation.AgentClaimed,
            Conversation.AgentReplied,
            Conversation.ReturnedToAI,
            Conversation.EscalationRecalled,
            Conversation.TopicChanged,
            Conversation.PersonalDataErased,
        )
    )

    @staticmethod
    def fold(view: TrackedView) -> Any:
        """This projection's handlers as a fold over a page of events (fold.py)."""
        from projections.transcripts.fold import TranscriptFold

        return TranscriptFold(view)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show only advance its position."""
        self.view.apply(tracking, [])

    @process_event.register
    def _(self, e: Conversation.Started, tracking: Tracking) -> None:
        p = e.personal
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {self.view.table('conversations')} (id, workspace_id, channel, end_user_id,"
                    " end_user_email, end_user_name, status, started_at, last_activity_at, turns, version)"
                    " VALUES (%(id)s, %(ws)s, %(ch)s, %(uid)s, %(email)s, %(name)s, 'open', %(at)s, %(at)s, 0, %(v)s)",
                    {
                        "id": e.originator_id,
                        "ws": e.workspace_id,
                        "ch": e.channel,
                        "uid": p.get("user_id"),
                        "email": p.get("email"),
                        "name": p.get("name"),
                        "at": e.timestamp,
                        "v": e.originator_version,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _message(self.view, e, "user", message_id=e.message_id, text=e.personal["text"]),
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET turns = turns + 1, status = 'open'"
                    " WHERE id = %(id)s",
                    {"id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _message(
                    self.view,
                    e,
                    "assistant",
                    message_id=e.message_id,
                    reply_to=e.reply_to,
                    text=e.personal["text"],
                    provider=e.provider,
                    model=e.model,
                    confidence=e.confidence,
                    topic=e.topic,
                    prompt_version=e.prompt_version,
                ),
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET topic = %(t)s, last_confidence = %(c)s"
                    " WHERE id = %(id)s",
                    {"t": e.topic, "c": e.confidence, "id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.TurnFailed, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _message(self.view, e, "system", reply_to=e.reply_to, text=e.reason, error_code=e.code),
                _touch(self.view, e),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET status = 'resolved', resolved_by = %(by)s"
                    " WHERE id = %(id)s",
                    {"by": e.by, "id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.Closed, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET status = 'closed', closed_reason = %(r)s"
                    " WHERE id = %(id)s",
                    {"r": e.reason, "id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET csat = %(s)s WHERE id = %(id)s",
                    {"s": e.score, "id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.Escalated, tracking: Tracking) -> None:
        # as the aggregate: an escalation while an agent has the chat leaves it with them
        sql = (
            f"UPDATE {self.view.table('conversations')} SET topic = %(t)s,"
            " handler = CASE WHEN handler IN ('assigned', 'agent') THEN handler ELSE 'queued' END WHERE id = %(id)s"
        )
        self.view.apply(tracking, [_touch(self.view, e), (sql, {"t": e.topic, "id": e.originator_id})])

    @process_event.register
    def _(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        sql = f"UPDATE {self.view.table('conversations')} SET handler = 'assigned', assignee = %(a)s WHERE id = %(id)s"
        self.view.apply(tracking, [_touch(self.view, e), (sql, {"a": e.agent_id, "id": e.originator_id})])

    @process_event.register
    def _(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        name = e.personal.get("agent_name")
        self.view.apply(
            tracking,
            [
                _message(self.view, e, "agent", message_id=e.message_id, text=e.personal["text"], agent_name=name),
                _touch(self.view, e),
                (
                    f"UPDATE {self.view.table('conversations')} SET handler = 'agent' WHERE id = %(id)s",
                    {"id": e.originator_id},
                ),
            ],
        )

    @process_event.register
    def _(self, e: Conversation.ReturnedToAI, tracking: Tracking) -> None:
        sql = f"UPDATE {self.view.table('conversations')} SET handler = 'ai', assignee = NULL WHERE id = %(id)s"
        self.view.apply(tracking, [_touch(self.view, e), (sql, {"id": e.originator_id})])

    @process_event.register
    def _(self, e: Conversation.EscalationRecalled, tracking: Tracking) -> None:
        sql = (
            f"UPDATE {self.view.table('conversations')} SET handler = CASE WHEN status = 'closed' THEN handler"
            " ELSE 'ai' END, assignee = CASE WHEN status = 'closed' THEN assignee END WHERE id = %(id)s"
        )
        self.view.apply(tracking, [_touch(self.view, e), (sql, {"id": e.originator_id})])

    @process_event.register
    def _(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        sql = f"UPDATE {self.view.table('conversations')} SET topic = %(t)s WHERE id = %(id)s"
        self.view.apply(tracking, [_touch(self.view, e), (sql, {"t": e.topic, "id": e.originator_id})])

    @process_event.register
    def _erased(self, e: Conversation.PersonalDataErased, tracking: Tracking) -> None:
        """The conversation's key was destroyed (ADR 0044): its texts and the visitor's identity read "[erased]" (a
        rebuild reads them erased from the events themselves; the fold has no handler, so this runs there too)."""
        erased = {"id": e.originator_id, "erased": ERASED, "v": e.originator_version}
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {self.view.table('messages')} SET"
                    " text = CASE WHEN text IS NULL THEN NULL ELSE %(erased)s END,"
                    " agent_name = CASE WHEN agent_name IS NULL THEN NULL ELSE %(erased)s END"
                    " WHERE conversation_id = %(id)s",
                    erased,
                ),
                (
                    f"UPDATE {self.view.table('conversations')} SET"
                    " end_user_id = CASE WHEN end_user_id IS NULL THEN NULL ELSE %(erased)s END,"
                    " end_user_email = CASE WHEN end_user_email IS NULL THEN NULL ELSE %(erased)s END,"
                    " end_user_name = CASE WHEN end_user_name IS NULL THEN NULL ELSE %(erased)s END, version = %(v)s"
                    " WHERE id = %(id)s",
                    erased,
                ),
            ],
        )
