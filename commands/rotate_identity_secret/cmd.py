"""RotateIdentitySecret: a new identity secret for the workspace; signatures made with the old one stop working."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import load
from commands._widget_security import change_security
from commands.application import ChatAssistApp
from domain.widget_security import WidgetPolicy, WidgetSecurity
from domain.workspace import Workspace

PERMISSION = "widget.manage"


@dataclass(frozen=True)
class RotateIdentitySecret:
    """``by`` is the acting admin."""

    workspace_id: UUID
    by: UUID


def execute(app: ChatAssistApp, cmd: RotateIdentitySecret) -> WidgetPolicy:
    """Record ``IdentitySecretRotated`` (the new counter; the secret itself is derived, never stored)."""
    load(app, cmd.workspace_id, Workspace, "workspace", read_only=True).check_permission(cmd.by, PERMISSION)

    def decide(security: WidgetSecurity) -> WidgetPolicy:
        security.rotate_secret(cmd.by)
        return security.policy

    return change_security(app, cmd.workspace_id, decide)
