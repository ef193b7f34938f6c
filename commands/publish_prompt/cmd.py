"""PublishPrompt: a draft becomes the next live version (``VersionPublished``), with optimistic concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._lazy import read_or_none
from commands._prompt_config import change_config, check_models
from commands.application import ChatAssistApp
from domain.app_settings import AppSettings, app_settings_id
from domain.prompt_config import PromptConfig, PromptVersion


@dataclass(frozen=True)
class PublishPrompt:
    """``based_on_version``: the live version the publisher saw (None: the version the draft was based on)."""

    workspace_id: UUID
    by: UUID
    draft_id: str
    note: str = ""
    based_on_version: int | None = None


def handle(config: PromptConfig, cmd: PublishPrompt, approval_required: bool) -> PromptVersion:
    """Decide: 404 ``draft_not_found``, 409 ``version_conflict`` when the live version moved on, 409
    ``approval_required`` when the workspace requires a second admin's approval the draft does not have."""
    check_models(config.draft(cmd.draft_id).content)
    return config.publish(cmd.draft_id, cmd.note, cmd.based_on_version, cmd.by, approval_required=approval_required)


def execute(app: ChatAssistApp, cmd: PublishPrompt) -> PromptVersion:
    """Read the workspace's approval setting, load, decide, save."""
    settings = read_or_none(app, app_settings_id(cmd.workspace_id), AppSettings)
    required = settings is not None and settings.values.prompt_approval_required
    return change_config(app, cmd.workspace_id, cmd.by, lambda config: handle(config, cmd, required))
