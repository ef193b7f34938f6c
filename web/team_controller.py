"""/api/team: members with role and last-active time, invites, role changes, removal."""

from __future__ import annotations

from urllib.parse import quote
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Response, delete, get, patch, post

from commands._common import load
from commands.accept_invite import cmd as accept_invite
from commands.change_role import cmd as change_role
from commands.invite_member import cmd as invite_member
from commands.remove_member import cmd as remove_member
from domain.account import Account
from domain.workspace import SEAT_LIMIT, Workspace
from web.auth import Auth, Member, session_cookies
from web.auth_controller import session_body
from web.auth_schemas import (
    AcceptInviteRequest,
    InviteRequest,
    InviteResponse,
    MemberView,
    RoleRequest,
    RoleResponse,
    SessionResponse,
    TeamResponse,
)
from web.guards import GUARDS


def team_of(auth: Auth, workspace_id: UUID) -> TeamResponse:
    """Every member with name, email, role and last-active time: the later of the last sign-in (an event) and the
    last authenticated request (Redis). One read per member: at most 20."""
    workspace = load(auth.app, workspace_id, Workspace, "workspace", read_only=True)
    active = auth.last_active(list(workspace.members))
    members = []
    for account_id, role in workspace.members.items():
        account = load(auth.app, account_id, Account, "account", read_only=True)
        seen = [t for t in (account.last_active_at, active.get(account_id)) if t is not None]
        last = max(seen).isoformat() if seen else None
        members.append(MemberView(str(account_id), account.email, account.name, role, last))
    return TeamResponse(members, len(members), SEAT_LIMIT)


class TeamController(Controller):
    """The signed-in member's own team; every change is an event naming its actor."""

    path = "/api/team"
    tags = ["team"]

    @get("/", operation_id="listTeam", guards=[GUARDS["team.read"]], summary="Members, roles, last-active time")
    async def list_team(self, auth: Auth, current_member: Member) -> TeamResponse:
        """The members of the caller's workspace."""
        return await anyio.to_thread.run_sync(team_of, auth, current_member.workspace_id)

    @post("/invites", operation_id="inviteMember", status_code=201, guards=[GUARDS["team.manage"]])
    async def invite(self, data: InviteRequest, auth: Auth, current_member: Member) -> InviteResponse:
        """Invite an email with a role; the token goes in the invite link and works once, for 7 days."""
        command = invite_member.InviteMember(
            current_member.workspace_id, current_member.account_id, data.email, data.role
        )

        def run() -> InviteResponse:
            done = invite_member.execute(auth.app, command, auth.signer)
            link = f"{auth.public_url.rstrip('/')}/accept-invite?token={quote(done.token)}"
            emailed = auth.mail is not None
            if auth.mail is not None:  # after the invite's event is stored; the worker sends it (ADR 0041)
                inviter = load(auth.app, current_member.account_id, Account, "account", read_only=True)
                workspace = load(auth.app, current_member.workspace_id, Workspace, "workspace", read_only=True)
                auth.mail.send_invite(
                    data.email.strip(), link, done.expires_at, inviter=inviter.name, workspace=workspace.name,
                    role=data.role, workspace_id=current_member.workspace_id,
                )  # fmt: skip
            return InviteResponse(done.invite_id, done.token, done.expires_at.isoformat(), link, emailed)

        return await anyio.to_thread.run_sync(run)

    @post("/invites/accept", operation_id="acceptInvite", status_code=200, summary="Join a workspace by invite")
    async def accept(self, data: AcceptInviteRequest, auth: Auth) -> Response[SessionResponse]:
        """Creates the account if the email has none (with ``name`` and a strong password); signs you in."""
        command = accept_invite.AcceptInvite(data.token, data.password, data.name)
        done = await anyio.to_thread.run_sync(accept_invite.execute, auth.app, command, auth.signer)
        session = auth.issue(done.account_id, done.workspace_id, done.role)
        body = session_body(session, done.account_id, done.workspace_id, done.role)
        return Response(body, cookies=session_cookies(auth, session))

    @patch("/members/{account_id:uuid}", operation_id="changeRole", guards=[GUARDS["team.manage"]])
    async def change_role(
        self, account_id: UUID, data: RoleRequest, auth: Auth, current_member: Member
    ) -> RoleResponse:
        """Give a member another role; the last admin cannot be demoted (409 ``last_admin``)."""
        command = change_role.ChangeRole(current_member.workspace_id, current_member.account_id, account_id, data.role)

        def run() -> str:
            role = change_role.execute(auth.app, command)
            auth.members_changed(current_member.workspace_id)  # other processes stop using their copy of the roles
            return role

        role = await anyio.to_thread.run_sync(run)
        return RoleResponse(str(account_id), role)

    @delete("/members/{account_id:uuid}", operation_id="removeMember", guards=[GUARDS["team.manage"]])
    async def remove(self, account_id: UUID, auth: Auth, current_member: Member) -> None:
        """Remove a member; their sessions stop working at once. The last admin cannot be removed."""
        command = remove_member.RemoveMember(current_member.workspace_id, current_member.account_id, account_id)

        def run() -> None:
            remove_member.execute(auth.app, command)
            auth.members_changed(current_member.workspace_id)  # the member is refused by every process at once

        await anyio.to_thread.run_sync(run)
