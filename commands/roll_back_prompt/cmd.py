"""RollBackPrompt: make an earlier version's content live again as a new version (``RolledBack``)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._prompt_config import change_config
from commands.application import ChatAssistApp
from domain.prompt_config import PromptVersion


@dataclass(frozen=True)
class RollBackPrompt:
    """Restore ``to_version``; history is never rewritten."""

    workspace_id: UUID
    by: UUID
    to_version: int
    note: str = ""


def execute(app: ChatAssistApp, cmd: RollBackPrompt) -> PromptVersion:
    """404 ``version_not_found``, 409 ``already_live``."""
    return change_config(app, cmd.workspace_id, cmd.by, lambda c: c.roll_back(cmd.to_version, cmd.note, cmd.by))
