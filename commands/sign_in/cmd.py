"""SignIn: check an email and password (argon2id, the same time and answer whether or not the account exists)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from commands._common import account_for_email, load, update
from commands._security import verify_password
from commands.application import ChatAssistApp
from domain.account import Account, normalise_email
from domain.errors import Forbidden, InvalidInput, Unauthorized
from domain.workspace import Workspace

INVALID_CREDENTIALS = "The email or password is wrong."


@dataclass(frozen=True)
class SignIn:
    """Credentials, and optionally which of the person's workspaces to enter."""

    email: str
    password: str
    workspace_id: UUID | None = None


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, where, with which role."""

    account_id: UUID
    workspace_id: UUID
    role: str


def authenticate(app: ChatAssistApp, email: str, password: str) -> Account:
    """The account whose password matches, or Unauthorized ``invalid_credentials`` (one message for every cause)."""
    try:
        account = account_for_email(app, normalise_email(email))
    except InvalidInput:
        account = None
    # An unknown email still costs one argon2 verification (against a dummy hash): timing does not tell.
    if not verify_password(account.password_hash if account else None, password) or account is None:
        raise Unauthorized(INVALID_CREDENTIALS, code="invalid_credentials")
    return account


def execute(app: ChatAssistApp, cmd: SignIn) -> SignedIn:
    """Authenticate, pick a workspace the person is still a member of, record the sign-in time."""
    account = authenticate(app, cmd.email, cmd.password)
    workspace_id, role = choose_workspace(app, account, cmd.workspace_id)
    now = datetime.now(UTC)
    update(app, account.id, Account, "account", lambda a: a.signed_in(workspace_id, now), loaded=account)
    return SignedIn(account.id, workspace_id, role)


def choose_workspace(app: ChatAssistApp, account: Account, wanted: UUID | None) -> tuple[UUID, str]:
    """The wanted workspace, else the most recently joined one the account is still a member of, with the role."""
    for workspace_id in [wanted] if wanted else list(reversed(account.workspace_ids)):
        if workspace_id in account.workspace_ids:
            role = load(app, workspace_id, Workspace, "workspace", read_only=True).role_of(account.id)
            if role is not None:
                return workspace_id, role
    raise Forbidden("You are not a member of this workspace: ask one of its admins to invite you.", code="no_workspace")
