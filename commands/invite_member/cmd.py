"""InviteMember: an admin invites an email with a role; the answer is a signed, single-use, expiring token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from commands._common import update
from commands._security import TokenSigner
from commands.application import ChatAssistApp
from domain.account import email_hash, normalise_email
from domain.permissions import check_role
from domain.workspace import Workspace

INVITE_TTL = timedelta(days=7)


@dataclass(frozen=True)
class InviteMember:
    """``by`` is the acting admin."""

    workspace_id: UUID
    by: UUID
    email: str
    role: str
    ttl: timedelta = INVITE_TTL


@dataclass(frozen=True)
class Invited:
    """The invite and the token to put in the invite link."""

    invite_id: str
    token: str
    expires_at: datetime


def execute(app: ChatAssistApp, cmd: InviteMember, signer: TokenSigner) -> Invited:
    """Record ``InviteIssued`` (the email only as its hash) and sign the token."""
    email, role = normalise_email(cmd.email), check_role(cmd.role)
    invite_id, expires_at = uuid4().hex, datetime.now(UTC) + cmd.ttl

    def decide(workspace: Workspace) -> None:
        workspace.check_permission(cmd.by, "team.manage")
        workspace.issue_invite(invite_id, email_hash(email), role, cmd.by, expires_at)

    update(app, cmd.workspace_id, Workspace, "workspace", decide)
    token, _ = signer.sign(
        "invite", cmd.ttl.total_seconds(), ws=str(cmd.workspace_id), inv=invite_id, email=email, role=role
    )
    return Invited(invite_id, token, expires_at)
