"""DiscardPromptDraft: forget a draft (``DraftDiscarded``)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._prompt_config import change_config
from commands.application import ChatAssistApp


@dataclass(frozen=True)
class DiscardPromptDraft:
    """Discard one draft of the workspace."""

    workspace_id: UUID
    by: UUID
    draft_id: str


def execute(app: ChatAssistApp, cmd: DiscardPromptDraft) -> None:
    """404 ``draft_not_found`` when there is no such draft."""
    change_config(app, cmd.workspace_id, cmd.by, lambda config: config.discard_draft(cmd.draft_id, cmd.by))
