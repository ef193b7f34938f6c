"""/api/widget/security: allowed origins, identity verification and the identity secret (admins only)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
import msgspec
from litestar import Controller, get, patch, post

from commands._widget_security import WidgetGuard
from commands.change_widget_security import cmd as change_cmd
from commands.rotate_identity_secret import cmd as rotate_cmd
from domain.widget_security import MAX_ORIGIN_CHARS, MAX_ORIGINS, WidgetPolicy
from web.auth import Member
from web.guards import GUARDS

Origin = Annotated[str, msgspec.Meta(max_length=MAX_ORIGIN_CHARS)]
MANAGE = [GUARDS["widget.manage"]]


class WidgetSecurityView(msgspec.Struct):
    """The widget security of the workspace. ``identity_secret`` signs visitor ids: keep it on your server."""

    allowed_origins: list[str]
    any_origin: bool
    require_identity_verification: bool
    identity_secret: str
    secret_version: int


class WidgetSecurityChange(msgspec.Struct, forbid_unknown_fields=True):
    """Fields left out stay as they are; an empty ``allowed_origins`` allows any origin."""

    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=MAX_ORIGINS)] | None = None
    require_identity_verification: bool | None = None


def view(guard: WidgetGuard, member: Member, policy: WidgetPolicy) -> WidgetSecurityView:
    """The response body."""
    return WidgetSecurityView(
        list(policy.allowed_origins),
        not policy.allowed_origins,
        policy.require_identity_verification,
        guard.secret(member.workspace_id, policy),
        policy.secret_counter,
    )


class WidgetSecurityController(Controller):
    """Every change is an event on the workspace's WidgetSecurity naming its actor."""

    path = "/api/widget/security"
    tags = ["widget"]

    @get("/", operation_id="getWidgetSecurity", guards=MANAGE, summary="Allowed origins and identity verification")
    async def read(self, widget_guard: WidgetGuard, current_member: Member) -> WidgetSecurityView:
        """The current settings and identity secret."""
        policy = await anyio.to_thread.run_sync(widget_guard.policy, current_member.workspace_id)
        return view(widget_guard, current_member, policy)

    @patch("/", operation_id="changeWidgetSecurity", guards=MANAGE, summary="Set allowed origins or verification")
    async def change(
        self, data: WidgetSecurityChange, widget_guard: WidgetGuard, current_member: Member
    ) -> WidgetSecurityView:
        """Records ``AllowedOriginsChanged`` / ``IdentityVerificationChanged``; 422 ``invalid_origin``."""
        command = change_cmd.ChangeWidgetSecurity(
            current_member.workspace_id,
            current_member.account_id,
            data.allowed_origins,
            data.require_identity_verification,
        )
        policy = await anyio.to_thread.run_sync(change_cmd.execute, widget_guard.app, command)
        widget_guard.forget(current_member.workspace_id)
        return view(widget_guard, current_member, policy)

    @post(
        "/rotate-secret",
        operation_id="rotateIdentitySecret",
        status_code=200,
        guards=MANAGE,
        summary="A new identity secret",
    )
    async def rotate(self, widget_guard: WidgetGuard, current_member: Member) -> WidgetSecurityView:
        """Records ``IdentitySecretRotated``: signatures made with the old secret stop working at once."""
        command = rotate_cmd.RotateIdentitySecret(current_member.workspace_id, current_member.account_id)
        policy = await anyio.to_thread.run_sync(rotate_cmd.execute, widget_guard.app, command)
        widget_guard.forget(current_member.workspace_id)
        return view(widget_guard, current_member, policy)
