"""ChangeWidgetSecurity: an admin sets the allowed origins and/or switches identity verification."""

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
class ChangeWidgetSecurity:
    """``None`` leaves a value as it is; ``by`` is the acting admin."""

    workspace_id: UUID
    by: UUID
    allowed_origins: list[str] | None = None
    require_identity_verification: bool | None = None


def execute(app: ChatAssistApp, cmd: ChangeWidgetSecurity) -> WidgetPolicy:
    """Check the actor's permission, validate, record ``AllowedOriginsChanged`` / ``IdentityVerificationChanged``."""
    load(app, cmd.workspace_id, Workspace, "workspace", read_only=True).check_permission(cmd.by, PERMISSION)

    def decide(security: WidgetSecurity) -> WidgetPolicy:
        if cmd.allowed_origins is not None:
            security.set_allowed_origins(cmd.allowed_origins, cmd.by)
        if cmd.require_identity_verification is not None:
            security.set_identity_verification(cmd.require_identity_verification, cmd.by)
        return security.policy

    return change_security(app, cmd.workspace_id, decide)
