"""PublishPrompt: a draft becomes the next live version (``VersionPublished``), with optimistic concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._prompt_config import change_config, check_models
from commands.application import ChatAssistApp
from domain.prompt_config import PromptConfig, PromptVersion


@dataclass(frozen=True)
class PublishPrompt:
    """``based_on_version``: the live version the publisher saw (None: the version the draft was based on)."""

    workspace_id: UUID
    by: UUID
    draft_id: str
    note: str = ""
    based_on_version: int | None = None


def handle(config: PromptConfig, cmd: PublishPrompt) -> PromptVersion:
    """Decide: 404 ``draft_not_found``, 409 ``version_conflict`` when the live version moved on."""
    check_models(config.draft(cmd.draft_id).content)
    return config.publish(cmd.draft_id, cmd.note, cmd.based_on_version, cmd.by)


def execute(app: ChatAssistApp, cmd: PublishPrompt) -> PromptVersion:
    """Load, decide, save."""
    return change_config(app, cmd.workspace_id, cmd.by, lambda config: handle(config, cmd))
