"""Request and response bodies (msgspec Structs) of the auth and team API. Every field has a size limit."""

from __future__ import annotations

from typing import Annotated

import msgspec

Email = Annotated[str, msgspec.Meta(max_length=254)]
Password = Annotated[str, msgspec.Meta(max_length=256)]
Name = Annotated[str, msgspec.Meta(max_length=120)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
Role = Annotated[str, msgspec.Meta(max_length=20)]
Id = Annotated[str, msgspec.Meta(max_length=64)]


class SignUpRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A new team: the first admin's email, password (12+ characters) and name, and the workspace's name."""

    email: Email
    password: Password
    name: Name
    workspace_name: Name


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Credentials; ``workspace_id`` picks one of the person's workspaces (default: the last one joined)."""

    email: Email
    password: Password
    workspace_id: Id | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A refresh token; without it, the ``ca_refresh`` cookie is used."""

    refresh_token: Token | None = None


class SessionResponse(msgspec.Struct):
    """A signed-in session. The dashboard uses the cookies set with it; API clients use the tokens."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    account_id: str
    workspace_id: str
    role: str
    token_type: str = "bearer"


class SignUpResponse(msgspec.Struct):
    """The session of the new admin, and the new workspace's widget key and trial."""

    session: SessionResponse
    widget_key: str
    plan: str
    trial_ends_at: str | None


class MeResponse(msgspec.Struct):
    """Who is signed in, where, and what they may do."""

    account_id: str
    email: str
    name: str
    workspace_id: str
    workspace_name: str
    role: str
    permissions: list[str]
    plan: str
    trial_ends_at: str | None


class MemberView(msgspec.Struct):
    """A member of the team."""

    account_id: str
    email: str
    name: str
    role: str
    last_active_at: str | None


class TeamResponse(msgspec.Struct):
    """The team and its seats."""

    members: list[MemberView]
    seats_used: int
    seat_limit: int


class InviteRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Invite an email as admin, agent or viewer."""

    email: Email
    role: Role


class InviteResponse(msgspec.Struct):
    """The invite token, to send in the invite link (single use, expires)."""

    invite_id: str
    token: str
    expires_at: str
    link: str = ""
    """The page where the invited person joins: <public URL>/accept-invite?token=..."""
    emailed: bool = False
    """True when the link is on its way by email (an SMTP server is configured); else send the link yourself."""


class AcceptInviteRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The invite token and the password of the invited email's account (``name`` when it is new)."""

    token: Token
    password: Password
    name: Name | None = None


class RoleRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The member's new role."""

    role: Role


class RoleResponse(msgspec.Struct):
    """A member's role after a change."""

    account_id: str
    role: str
