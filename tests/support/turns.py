"""Chat turns written through the command path with chosen facts (model, tokens, confidence, instant), for tests
that need exact figures: ReceiveMessage, the real escalation engine, RecordReply, each at a pinned event time."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from commands.close_conversation import cmd as close
from commands.rate_conversation import cmd as rate
from commands.receive_message import cmd as receive
from commands.record_reply import cmd as record
from commands.resolve_conversation import cmd as resolve
from domain.clock import events_at
from domain.conversation import Conversation, ModelCall
from domain.escalation import decide
from domain.pricing import Usage, cost_usd


def call(model: str, provider: str, prompt_version: int, input_tokens: int, output_tokens: int) -> ModelCall:
    """A successful model call priced by domain/pricing.py."""
    usage = Usage(input_tokens, output_tokens)
    return ModelCall(
        str(uuid.uuid4()), provider, model, prompt_version, 1, input_tokens, output_tokens, 0, 0, 300.0, 900.0,
        cost_usd(model, usage), "ok",
    )  # fmt: skip


def price(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """What ``call`` with these tokens costs."""
    cost = cost_usd(model, Usage(input_tokens, output_tokens))
    assert cost is not None
    return cost


class Turns:
    """Writes one workspace's conversations turn by turn; ``at`` pins the events' time (default now)."""

    def __init__(self, app: ChatAssistApp, workspace_id: UUID | str) -> None:
        self.app = app
        self.workspace_id = UUID(str(workspace_id))
        self.held: dict[UUID, Conversation] = {}

    def _at(self, at: datetime | None) -> AbstractContextManager[None]:
        return events_at(at or datetime.now(UTC))

    def message(
        self, text: str, conversation_id: UUID | None = None, *, at: datetime | None = None
    ) -> tuple[UUID, str]:
        """The visitor writes; returns the conversation id and the message id."""
        cmd = receive.ReceiveMessage(self.workspace_id, conversation_id, receive.EndUser("visitor-t"), text)
        with self._at(at):
            got = receive.execute(self.app, cmd, self.held.get(conversation_id) if conversation_id else None)
        assert got.conversation is not None
        self.held[got.conversation_id] = got.conversation
        return got.conversation_id, got.message_id

    def answer(
        self, conversation_id: UUID, message_id: str, mc: ModelCall, confidence: float, *, at: datetime | None = None
    ) -> None:
        """The model's answer to ``message_id`` (no escalation offered)."""
        reply = record.Reply(
            str(uuid.uuid4()), "An answer.", confidence, "Other", mc.provider, mc.model, mc.prompt_version
        )
        self._record(record.RecordReply(conversation_id, message_id, [mc], reply=reply), at)

    def escalate(self, conversation_id: UUID, message_id: str, texts: list[str], prompt_version: int) -> str:
        """The real escalation engine on the visitor's messages; asserts it escalates; returns the rule."""
        decision = decide(texts)
        assert decision.escalates, decision
        reply = record.Reply(
            str(uuid.uuid4()), decision.message or "", 1.0, decision.topic, "escalation", "rules", prompt_version
        )
        self._record(record.RecordReply(conversation_id, message_id, [], reply=reply, decision=decision), None)
        return decision.rule

    def _record(self, cmd: record.RecordReply, at: datetime | None) -> None:
        with self._at(at):
            self.held[cmd.conversation_id] = record.execute(self.app, cmd, self.held.get(cmd.conversation_id))

    def claim(self, conversation_id: UUID, agent_id: str) -> None:
        """An agent takes the chat over (the aggregate's own decision, saved as a command would)."""
        self.held.pop(conversation_id, None)
        update(self.app, conversation_id, Conversation, "conversation", lambda c: c.claim(agent_id))

    def resolve(self, conversation_id: UUID) -> None:
        """The visitor says it is solved."""
        self.held.pop(conversation_id, None)
        resolve.execute(self.app, resolve.ResolveConversation(self.workspace_id, conversation_id))

    def rate(self, conversation_id: UUID, score: int) -> None:
        """The visitor's CSAT."""
        self.held.pop(conversation_id, None)
        rate.execute(self.app, rate.RateConversation(self.workspace_id, conversation_id, score))

    def close(self, conversation_id: UUID) -> None:
        """The visitor closes it."""
        self.held.pop(conversation_id, None)
        close.execute(self.app, close.CloseConversation(conversation_id, "visitor", self.workspace_id))
