"""POST /api/admin/escalation/decide: the escalation sandbox (``escalation.test``, admins). Writes nothing.
See docs/escalation.md."""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, post

from commands.chat_turn.service import ChatService
from commands.decide_escalation import cmd as decide_cmd
from web.auth import Member
from web.guards import GUARDS


class DecideBody(msgspec.Struct, forbid_unknown_fields=True):
    """Visitor messages, oldest first; optionally a reply confidence and the turn number."""

    messages: Annotated[list[str], msgspec.Meta(min_length=1, max_length=decide_cmd.MAX_MESSAGES)]
    confidence: float | None = None
    turns: int | None = None


class DecisionView(msgspec.Struct):
    """``rule``: p1_legal, p2_refund_over_threshold, human_requested, p3_turn_limit, low_confidence or none;
    ``action``: escalate (the AI would not answer), offer (it would answer and offer a person) or none."""

    rule: str
    priority: int | None
    action: str
    reason: str
    evidence: dict[str, Any]
    route: str | None
    message: str | None
    topic: str
    confidence: float | None
    prompt_version: int | None


class EscalationController(Controller):
    """The rules engine, tried on messages without touching any conversation."""

    path = "/api/admin/escalation"
    tags = ["escalation"]

    @post(
        "/decide",
        operation_id="decideEscalation",
        guards=[GUARDS["escalation.test"]],
        status_code=200,
        summary="The decision the escalation rules would make for these messages (writes nothing)",
    )
    async def decide(self, data: DecideBody, chat: ChatService, current_member: Member) -> DecisionView:
        """Run the workspace's live escalation logic (or the defaults) over the messages."""
        command = decide_cmd.DecideEscalation(current_member.workspace_id, data.messages, data.confidence, data.turns)
        decision, version = await anyio.to_thread.run_sync(decide_cmd.execute, chat.app, command)
        return DecisionView(**decision.to_dict(), confidence=data.confidence, prompt_version=version)
