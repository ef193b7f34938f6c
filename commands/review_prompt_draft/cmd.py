"""ReviewPromptDraft: a second admin approves or rejects a draft (``DraftApproved`` / ``DraftRejected``)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._prompt_config import change_config
from commands.application import ChatAssistApp
from domain.prompt_config import Draft


@dataclass(frozen=True)
class ReviewPromptDraft:
    """``approve`` False rejects; an editor of the draft may not review it (409 ``own_draft``)."""

    workspace_id: UUID
    by: UUID
    draft_id: str
    approve: bool
    note: str = ""


def execute(app: ChatAssistApp, cmd: ReviewPromptDraft) -> Draft:
    """404 ``draft_not_found``, 409 ``own_draft`` / ``already_approved``."""
    return change_config(
        app, cmd.workspace_id, cmd.by, lambda c: c.review_draft(cmd.draft_id, cmd.approve, cmd.note, cmd.by)
    )
