"""SignUp: a new workspace on the free trial, its first admin's account, and the email index, in one save."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, RecordConflictError

from commands._common import account_for_email
from commands._passwords import check_password_strength
from commands._security import hash_password
from commands.application import ChatAssistApp
from commands.create_workspace import cmd as create_ws
from domain.account import (
    Account,
    AccountEmailIndex,
    check_display_name,
    email_hash,
    normalise_email,
)
from domain.errors import Conflict
from domain.permissions import ADMIN

EMAIL_TAKEN = "An account with this email already exists: sign in instead."


@dataclass(frozen=True)
class SignUp:
    """A person signing up their team."""

    email: str
    password: str
    name: str
    workspace_name: str


@dataclass(frozen=True)
class SignedUp:
    """The new admin and workspace."""

    account_id: UUID
    workspace_id: UUID
    widget_key: str
    role: str = ADMIN


def handle(cmd: SignUp, password_hash: str, widget_key: str, now: datetime) -> list[Aggregate]:
    """Decide: the workspace (trial), its key index, the account, its email index, the admin membership."""
    email, name = normalise_email(cmd.email), check_display_name(cmd.name)
    workspace, key_index = create_ws.handle(create_ws.CreateWorkspace(cmd.workspace_name), widget_key)
    workspace.start_trial(now)
    account = Account({"email": email, "name": name}, password_hash)
    workspace.add_member(account.id, ADMIN, by=account.id)
    account.join(workspace.id)
    return [workspace, key_index, account, AccountEmailIndex(email_hash(email), account.id)]


def execute(app: ChatAssistApp, cmd: SignUp) -> SignedUp:
    """Validate everything before hashing, then save all the new aggregates in one transaction."""
    email = normalise_email(cmd.email)
    check_display_name(cmd.name)
    check_password_strength(cmd.password, email, cmd.name, cmd.workspace_name)
    if account_for_email(app, email) is not None:
        raise Conflict(EMAIL_TAKEN, code="email_taken")
    key = create_ws.new_widget_key()
    aggregates = handle(cmd, hash_password(cmd.password), key, datetime.now(UTC))
    try:
        app.save(*aggregates)
    except (RecordConflictError, IntegrityError):  # the same email signed up concurrently: the index id collided
        raise Conflict(EMAIL_TAKEN, code="email_taken") from None
    workspace, _, account, _ = aggregates
    return SignedUp(account.id, workspace.id, key)
