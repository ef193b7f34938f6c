"""SavePromptDraft: a new draft (from the live content with some changes) or changes to an existing draft."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands._prompt_config import change_config, check_models
from commands.application import ChatAssistApp
from domain.prompt_config import Draft, PromptConfig


@dataclass(frozen=True)
class SavePromptDraft:
    """``draft_id`` None starts a new draft; ``changes`` is any subset of the content's fields."""

    workspace_id: UUID
    by: UUID
    changes: dict[str, Any]
    draft_id: str | None = None


def new_draft_id() -> str:
    """A short random draft id."""
    return "d_" + secrets.token_hex(8)


def handle(config: PromptConfig, cmd: SavePromptDraft, draft_id: str) -> Draft:
    """Decide: validate (422 with a code) and record ``DraftSaved``; an unknown draft id is 404."""
    if cmd.draft_id is not None:
        config.draft(cmd.draft_id)
    base = config.drafts[draft_id].content if draft_id in config.drafts else config.live.content
    check_models(base.with_changes(cmd.changes))  # before any event, so a refusal leaves the aggregate as it was
    return config.save_draft(draft_id, cmd.changes, cmd.by)


def execute(app: ChatAssistApp, cmd: SavePromptDraft) -> Draft:
    """Load (or create), decide, save."""
    draft_id = cmd.draft_id or new_draft_id()
    return change_config(app, cmd.workspace_id, cmd.by, lambda config: handle(config, cmd, draft_id))
