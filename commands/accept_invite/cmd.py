"""AcceptInvite: use an invite token once; the invited email's account is created if it does not exist yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, RecordConflictError

from commands._common import account_for_email, load
from commands._passwords import check_password_strength
from commands._security import TokenSigner, hash_password
from commands.application import ChatAssistApp
from commands.sign_in.cmd import authenticate
from domain.account import (
    Account,
    AccountEmailIndex,
    check_display_name,
    email_hash,
    normalise_email,
)
from domain.errors import Conflict, DomainError, Unauthorized
from domain.workspace import Workspace


@dataclass(frozen=True)
class AcceptInvite:
    """The token from the invite link; the password of the existing account, or of the new one with ``name``."""

    token: str
    password: str
    name: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The new member."""

    account_id: UUID
    workspace_id: UUID
    role: str
    new_account: bool


def read_token(signer: TokenSigner, token: str) -> tuple[UUID, str, str]:
    """Workspace id, invite id and email of a genuine invite token (expiry is the workspace's decision)."""
    try:
        claims = signer.check(token, "invite", verify_exp=False)
        return UUID(str(claims["ws"])), str(claims["inv"]), normalise_email(claims["email"])
    except (DomainError, KeyError, ValueError):
        raise Unauthorized(
            "This invite link is not valid: ask an admin for a new one.", code="invalid_invite"
        ) from None


def execute(app: ChatAssistApp, cmd: AcceptInvite, signer: TokenSigner) -> Accepted:
    """Check the invite first (no hashing for a used or expired one), then the account, then save all at once."""
    workspace_id, invite_id, email = read_token(signer, cmd.token)
    workspace = load(app, workspace_id, Workspace, "workspace")
    now = datetime.now(UTC)
    workspace.check_invite(invite_id, email_hash(email), now)
    aggregates: list[Aggregate] = [workspace]
    account = account_for_email(app, email)
    if account is not None:
        account = authenticate(app, email, cmd.password)
    else:
        name = check_display_name(cmd.name)
        check_password_strength(cmd.password, email, name)
        account = Account({"email": email, "name": name}, hash_password(cmd.password))
        aggregates.append(AccountEmailIndex(email_hash(email), account.id))
    role = workspace.accept_invite(invite_id, email_hash(email), account.id, now)
    account.join(workspace.id)
    try:
        app.save(*aggregates, account)
    except (RecordConflictError, IntegrityError):
        raise Conflict(
            "The workspace changed while accepting the invite; try again.", code="concurrent_update"
        ) from None
    return Accepted(account.id, workspace.id, role, new_account=len(aggregates) > 1)
