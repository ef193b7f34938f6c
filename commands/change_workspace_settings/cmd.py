"""ChangeWorkspaceSettings: validated changes to the settings a chat turn uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.workspace import Workspace, WorkspaceSettings


@dataclass(frozen=True)
class ChangeWorkspaceSettings:
    """Set some settings; the others keep their values."""

    workspace_id: UUID
    changes: dict[str, Any]


def execute(app: ChatAssistApp, cmd: ChangeWorkspaceSettings) -> WorkspaceSettings:
    """Apply the change and return the resulting settings."""

    def decide(workspace: Workspace) -> WorkspaceSettings:
        workspace.change_settings(cmd.changes)
        return workspace.settings

    return update(app, cmd.workspace_id, Workspace, "workspace", decide)
