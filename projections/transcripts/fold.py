"""The transcript projection's handlers as a fold over a page (see projections/_fold.py); mirrors projection.py."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking

from domain.conversation import Conversation
from projections._common import TrackedView
from projections._fold import Appends, Fold, Rows

CONVERSATION_COLUMNS = (
    "id workspace_id channel end_user_id end_user_email end_user_name status handler assignee topic last_confidence"
    " csat resolved_by closed_reason turns started_at last_activity_at version"
).split()
MESSAGE_COLUMNS = (
    "conversation_id seq role message_id reply_to text provider model confidence topic prompt_version error_code"
    " agent_name at"
).split()


class TranscriptFold(Fold):
    """Conversation rows of a page folded in memory; its messages COPYed in. Every event the projection subscribes
    to has a handler here (the handoff events too: each one without a handler broke the page into runs, each run
    reading and writing its rows again)."""

    def __init__(self, view: TrackedView) -> None:
        super().__init__(view)
        self.conversations = Rows(view.table("conversations"), ("id",), ("uuid",), CONVERSATION_COLUMNS)
        self.messages = Appends(view.table("messages"), MESSAGE_COLUMNS)
        self.tables: list[Rows | Appends] = [self.conversations, self.messages]

    def keys(self, event: Any) -> list[tuple[Rows, tuple[Any, ...]]]:
        """Every handled event touches its conversation's row."""
        return [(self.conversations, (event.originator_id,))]

    def _touch(self, e: Any) -> dict[str, Any] | None:
        row = self.conversations.get((e.originator_id,))
        if row is not None:
            row["last_activity_at"], row["version"] = e.timestamp, e.originator_version
            self.conversations.touched((e.originator_id,))
        return row

    def _message(self, e: Any, role: str, **fields: Any) -> None:
        self.messages.add({"conversation_id": e.originator_id, "seq": e.originator_version, "role": role,
                           "at": e.timestamp, **fields})  # fmt: skip

    def started(self, e: Conversation.Started, tracking: Tracking) -> None:
        p = e.personal
        row = dict.fromkeys(CONVERSATION_COLUMNS)
        row.update(
            id=e.originator_id,
            workspace_id=e.workspace_id,
            channel=e.channel,
            end_user_id=p.get("user_id"),
            end_user_email=p.get("email"),
            end_user_name=p.get("name"),
            status="open",
            handler="ai",
            started_at=e.timestamp,
            last_activity_at=e.timestamp,
            turns=0,
            version=e.originator_version,
        )
        self.conversations.insert((e.originator_id,), row)

    def message(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        self._message(e, "user", message_id=e.message_id, text=e.personal["text"])
        row = self._touch(e)
        if row is not None:
            row["turns"] += 1
            row["status"] = "open"

    def replied(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        self._message(e, "assistant", message_id=e.message_id, reply_to=e.reply_to, text=e.personal["text"],
                      provider=e.provider, model=e.model, confidence=e.confidence, topic=e.topic,
                      prompt_version=e.prompt_version)  # fmt: skip
        row = self._touch(e)
        if row is not None:
            row["topic"], row["last_confidence"] = e.topic, e.confidence

    def failed(self, e: Conversation.TurnFailed, tracking: Tracking) -> None:
        self._message(e, "system", reply_to=e.reply_to, text=e.reason, error_code=e.code)
        self._touch(e)

    def resolved(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["status"], row["resolved_by"] = "resolved", e.by

    def closed(self, e: Conversation.Closed, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["status"], row["closed_reason"] = "closed", e.reason

    def rated(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["csat"] = e.score

    def escalated(self, e: Conversation.Escalated, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:  # as the aggregate: an escalation while an agent has the chat leaves it with them
            row["topic"] = e.topic
            row["handler"] = row["handler"] if row["handler"] in ("assigned", "agent") else "queued"

    def claimed(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["handler"], row["assignee"] = "assigned", e.agent_id

    def agent_replied(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        self._message(e, "agent", message_id=e.message_id, text=e.personal["text"],
                      agent_name=e.personal.get("agent_name"))  # fmt: skip
        row = self._touch(e)
        if row is not None:
            row["handler"] = "agent"

    def returned(self, e: Conversation.ReturnedToAI, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["handler"], row["assignee"] = "ai", None

    def recalled(self, e: Conversation.EscalationRecalled, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None and row.get("status") != "closed":
            row["handler"], row["assignee"] = "ai", None

    def topic_changed(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["topic"] = e.topic

    handlers = {
        Conversation.Started: started,
        Conversation.UserMessageReceived: message,
        Conversation.AssistantReplied: replied,
        Conversation.TurnFailed: failed,
        Conversation.Resolved: resolved,
        Conversation.Closed: closed,
        Conversation.CsatRated: rated,
        Conversation.Escalated: escalated,
        Conversation.AgentClaimed: claimed,
        Conversation.AgentReplied: agent_replied,
        Conversation.ReturnedToAI: returned,
        Conversation.EscalationRecalled: recalled,
        Conversation.TopicChanged: topic_changed,
    }
