"""RateConversation: the visitor's CSAT score, 1 to 5, when the workspace collects ratings."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import conversation_in, update
from commands._lazy import read_or_none
from commands.application import ChatAssistApp
from domain.app_settings import AppSettings, app_settings_id
from domain.conversation import Conversation
from domain.errors import Conflict


@dataclass(frozen=True)
class RateConversation:
    """A rating from the visitor who owns the conversation. ``from_visitor`` False: history written by the demo
    seeder, which the workspace's CSAT setting does not concern."""

    workspace_id: UUID
    conversation_id: UUID
    score: int
    comment: str | None = None
    from_visitor: bool = True


def check_collecting(app: ChatAssistApp, workspace_id: UUID) -> None:
    """Conflict ``csat_disabled`` when an admin turned CSAT collection off in the settings."""
    settings = read_or_none(app, app_settings_id(workspace_id), AppSettings)
    if settings is not None and not settings.values.collect_csat:
        raise Conflict(
            "This workspace does not collect ratings (an admin turned off collect_csat in Settings): the rating "
            "was not recorded.",
            code="csat_disabled",
        )


def execute(app: ChatAssistApp, cmd: RateConversation) -> None:
    """Record the rating (a later rating replaces an earlier one)."""
    conversation_in(app, cmd.workspace_id, cmd.conversation_id)
    if cmd.from_visitor:
        check_collecting(app, cmd.workspace_id)
    update(app, cmd.conversation_id, Conversation, "conversation", lambda c: c.rate(cmd.score, cmd.comment))
