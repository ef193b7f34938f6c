"""RecallEscalation: an agent says an escalation was wrong ("not a legal matter"); the chat returns to the AI and
the correction is a labelled example for the corpus (``chatassist corpus export-recalls``)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._agent import act
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class RecallEscalation:
    """``agent_id``: the signed-in agent or admin; ``label``: the rule it should have been (none, p1, p2, person)."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str
    reason: str
    label: str = "none"


def handle(cmd: RecallEscalation, conversation: Conversation) -> None:
    """Decide: the last escalation by a rule, not recalled yet, not another agent's chat; a reason and a label."""
    conversation.recall_escalation(cmd.agent_id, cmd.reason, cmd.label)


def execute(app: ChatAssistApp, cmd: RecallEscalation) -> Conversation:
    """Record EscalationRecalled; returns the conversation as saved."""
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c))
