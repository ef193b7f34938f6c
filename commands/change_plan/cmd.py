"""ChangePlan: the operator moves a workspace to a plan (e.g. off its ended trial): the trial's end no longer
applies (docs/settings.md#billing)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.workspace import Workspace


@dataclass(frozen=True)
class ChangePlan:
    """Put the workspace on ``plan`` (one of domain.workspace.PLANS)."""

    workspace_id: UUID
    plan: str


def execute(app: ChatAssistApp, cmd: ChangePlan) -> str:
    """Record the plan (nothing when it is already in force); returns the plan now in force."""

    def decide(workspace: Workspace) -> str:
        workspace.change_plan(cmd.plan)
        return workspace.plan

    return update(app, cmd.workspace_id, Workspace, "workspace", decide)
