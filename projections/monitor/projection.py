"""The monitor read model: one row per conversation with what an agent's monitor shows (docs/monitor.md).

``state`` is a generated column mirroring ``domain.handoff.state_of`` over handler, status and returned. After a
page commits, the view names the workspaces it touched to the live publisher (projections/_live.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain import handoff
from domain.conversation import ERASED, Conversation
from projections._common import Statement, TrackedView
from projections.monitor.fold import MonitorFold
from projections.monitor.preview import HOLDING_PROVIDER, preview

PREFIX = "monitor_v1"
CONVERSATIONS = f"{PREFIX}_conversations"


class MonitorView(TrackedView):
    """Table ``monitor_v1_conversations`` (migrations/0005) plus this projection's tracking table.

    ``prefix`` names the table written, so a rebuild can fill a fresh one beside the live one.
    """

    prefix: ClassVar[str] = PREFIX

    def table(self, name: str = "conversations") -> str:
        """The full name of this view's table."""
        return f"{self.prefix}_{name}"

    def live_workspaces_sql(self) -> str:
        """The workspaces of committed events' conversations (live notices)."""
        return f"SELECT DISTINCT workspace_id FROM {self.table()} WHERE id = ANY(%(ids)s)"


class MonitorProjection(Projection[MonitorView]):
    """Keeps each conversation's handoff state, escalation, assignee, last message and figures."""

    name = "monitor_v1"
    topics: tuple[str, ...] = tuple(
        get_topic(cls)
        for cls in (
            Conversation.Started,
            Conversation.UserMessageReceived,
            Conversation.AssistantReplied,
            Conversation.Escalated,
            Conversation.EscalationOffered,
            Conversation.AgentClaimed,
            Conversation.AgentReplied,
            Conversation.NoteAdded,
            Conversation.ReturnedToAI,
            Conversation.EscalationRecalled,
            Conversation.TopicChanged,
            Conversation.Resolved,
            Conversation.Closed,
            Conversation.CsatRated,
            Conversation.PersonalDataErased,
        )
    )

    def _update(self, e: Any, tracking: Tracking, assignments: str, **params: Any) -> None:
        """Apply one UPDATE of the row of ``e`` (with its activity time and version) at ``tracking``."""
        sql = (
            f"UPDATE {self.view.table()} SET {assignments}, last_activity_at = %(at)s, version = %(v)s"
            " WHERE id = %(id)s"
        )
        statement: Statement = (sql, {"at": e.timestamp, "v": e.originator_version, "id": e.originator_id, **params})
        self.view.apply(tracking, [statement])

    def _message(self, e: Any, tracking: Tracking, by: str, assignments: str, **params: Any) -> None:
        """An UPDATE that also records ``e``'s text as the last message, written ``by`` visitor/assistant/agent."""
        message = "last_message = %(text)s, last_message_by = %(by)s, last_message_at = %(at)s"
        text = preview(str(e.personal.get("text") or ""))
        self._update(e, tracking, f"{assignments}, {message}", text=text, by=by, **params)

    @staticmethod
    def fold(view: TrackedView) -> Any:
        """This projection's handlers as a fold over a page of events (fold.py)."""
        return MonitorFold(view)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of a subscribed topic without a handler is a bug: stop here rather than skip it."""
        raise TypeError(
            f"{self.name}: no handler for {type(domain_event).__qualname__} at position {tracking.notification_id}"
        )

    @process_event.register
    def _(self, e: Conversation.Started, tracking: Tracking) -> None:
        sql = (
            f"INSERT INTO {self.view.table()} (id, workspace_id, visitor_id, channel, handler, status, started_at,"
            " last_activity_at, version) VALUES (%(id)s, %(ws)s, %(visitor)s, %(ch)s, %(handler)s, 'open', %(at)s,"
            " %(at)s, %(v)s)"
        )
        params = {
            "id": e.originator_id,
            "ws": e.workspace_id,
            "visitor": e.personal.get("user_id"),
            "ch": e.channel,
            "handler": handoff.AI,
            "at": e.timestamp,
            "v": e.originator_version,
        }
        self.view.apply(tracking, [(sql, params)])

    @process_event.register
    def _(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        self._message(e, tracking, "visitor", "turns = turns + 1, status = 'open'")

    @process_event.register
    def _(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        confidence = None if e.provider == HOLDING_PROVIDER else float(e.confidence)
        self._message(
            e, tracking, "assistant", "topic = %(topic)s, confidence = coalesce(%(c)s, confidence)", topic=e.topic,
            c=confidence,
        )  # fmt: skip

    @process_event.register
    def _(self, e: Conversation.Escalated, tracking: Tracking) -> None:
        # Like the aggregate: a chat an agent holds stays theirs; otherwise it (re)enters its team's queue. A new
        # escalation while it waits keeps the time it started waiting.
        self._update(
            e,
            tracking,
            "rule = %(rule)s, priority = %(p)s, reason = %(reason)s, route = %(route)s, topic = %(topic)s,"
            " escalated_at = CASE WHEN handler = 'ai' OR escalated_at IS NULL THEN %(at)s ELSE escalated_at END,"
            " queued_at = CASE WHEN handler = 'ai' THEN %(at)s ELSE queued_at END,"
            " handler = CASE WHEN handler IN ('assigned', 'agent') THEN handler ELSE 'queued' END",
            rule=e.rule,
            p=e.priority,
            reason=e.reason,
            route=e.route,
            topic=e.topic,
        )

    @process_event.register
    def _(self, e: Conversation.EscalationOffered, tracking: Tracking) -> None:
        self._update(e, tracking, "offer_rule = %(rule)s", rule=e.rule)

    @process_event.register
    def _(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        self._update(
            e,
            tracking,
            "handler = 'assigned', assignee = %(agent)s, claimed_at = %(at)s, queued_at = NULL",
            agent=str(e.agent_id),
        )

    @process_event.register
    def _(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        self._message(e, tracking, "agent", "handler = 'agent'")

    @process_event.register
    def _(self, e: Conversation.NoteAdded, tracking: Tracking) -> None:
        self._update(e, tracking, "notes = notes + 1")

    @process_event.register
    def _(self, e: Conversation.ReturnedToAI, tracking: Tracking) -> None:
        self._update(e, tracking, "handler = 'ai', returned = true, assignee = NULL, queued_at = NULL")

    @process_event.register
    def _(self, e: Conversation.EscalationRecalled, tracking: Tracking) -> None:
        # as the aggregate: an open chat returns to the AI (a closed one keeps its state)
        self._update(
            e,
            tracking,
            "handler = CASE WHEN status = 'closed' THEN handler ELSE 'ai' END,"
            " returned = returned OR status <> 'closed',"
            " assignee = CASE WHEN status = 'closed' THEN assignee END, queued_at = NULL",
        )

    @process_event.register
    def _(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        self._update(e, tracking, "topic = %(topic)s", topic=e.topic)

    @process_event.register
    def _(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        self._update(e, tracking, "status = 'resolved'")

    @process_event.register
    def _(self, e: Conversation.Closed, tracking: Tracking) -> None:
        self._update(
            e, tracking, "status = 'closed', closed_at = %(at)s, closed_reason = %(reason)s, queued_at = NULL",
            reason=e.reason,
        )  # fmt: skip

    @process_event.register
    def _(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        self._update(e, tracking, "csat = %(s)s", s=e.score)

    @process_event.register
    def _erased(self, e: Conversation.PersonalDataErased, tracking: Tracking) -> None:
        """The conversation's key was destroyed (ADR 0044): the visitor and the last message read "[erased]"."""
        sql = (
            f"UPDATE {self.view.table()} SET visitor_id = CASE WHEN visitor_id IS NULL THEN NULL ELSE %(erased)s END,"
            " last_message = CASE WHEN last_message IS NULL THEN NULL ELSE %(erased)s END, version = %(v)s"
            " WHERE id = %(id)s"
        )
        self.view.apply(tracking, [(sql, {"id": e.originator_id, "erased": ERASED, "v": e.originator_version})])
