"""RemoveMember: an admin removes a member; the last admin cannot be removed."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.workspace import Workspace


@dataclass(frozen=True)
class RemoveMember:
    """``by`` is the acting admin."""

    workspace_id: UUID
    by: UUID
    account_id: UUID


def execute(app: ChatAssistApp, cmd: RemoveMember) -> None:
    """Record ``MemberRemoved``; the member's sessions stop working on their next request."""

    def decide(workspace: Workspace) -> None:
        workspace.check_permission(cmd.by, "team.manage")
        workspace.remove_member(cmd.account_id, cmd.by)

    update(app, cmd.workspace_id, Workspace, "workspace", decide)
