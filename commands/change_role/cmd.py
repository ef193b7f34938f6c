"""ChangeRole: an admin gives a member another role; the last admin cannot be demoted."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.workspace import Workspace


@dataclass(frozen=True)
class ChangeRole:
    """``by`` is the acting admin."""

    workspace_id: UUID
    by: UUID
    account_id: UUID
    role: str


def execute(app: ChatAssistApp, cmd: ChangeRole) -> str:
    """Record ``RoleChanged`` (nothing when the role is the same) and return the member's role."""

    def decide(workspace: Workspace) -> str:
        workspace.check_permission(cmd.by, "team.manage")
        workspace.change_role(cmd.account_id, cmd.role, cmd.by)
        return cmd.role

    return update(app, cmd.workspace_id, Workspace, "workspace", decide)
