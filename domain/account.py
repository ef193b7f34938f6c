"""The Account aggregate (a person who signs in to the dashboard) and its email index.

The email and display name live only in the ``personal`` field of events, as in ``Conversation``.
The password hash is computed by the commands layer (argon2id); the domain only stores it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
MAX_EMAIL_CHARS = 254
MAX_NAME_CHARS = 120
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EMAIL_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/account-email")


def normalise_email(email: object) -> str:
    """The email as stored and compared: stripped and lower-case; InvalidInput if it is not an address."""
    value = email.strip().lower() if isinstance(email, str) else ""
    if len(value) > MAX_EMAIL_CHARS or not _EMAIL.match(value):
        raise InvalidInput("Give a valid email address, like ana@example.com.", code="invalid_email")
    return value


def email_hash(email: str) -> str:
    """A stable pseudonym of a normalised email (SHA-256 hex), safe to keep outside ``personal``."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


def email_index_id(email: str) -> UUID:
    """Id of the index aggregate of this email: one read by id finds the account."""
    return uuid5(_EMAIL_NS, email_hash(email))


def check_display_name(name: object) -> str:
    """A stripped display name of 1 to 120 characters, or InvalidInput."""
    value = name.strip() if isinstance(name, str) else ""
    if not value or len(value) > MAX_NAME_CHARS:
        raise InvalidInput(f"Give your name, 1 to {MAX_NAME_CHARS} characters.", code="invalid_name")
    return value


def check_password_length(password: object) -> str:
    """Raise InvalidInput ``weak_password`` unless the password is a string of 12 to 256 characters (its strength is
    judged by ``commands._passwords``, with a kept estimator)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(
            f"The password is too short: use at least {MIN_PASSWORD_CHARS} characters.", code="weak_password"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"The password is longer than {MAX_PASSWORD_CHARS} characters.", code="weak_password")
    return password


class Account(Aggregate):
    """A person. Memberships and roles live on each Workspace; the account lists the workspaces it joined."""

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class PasswordChanged(Aggregate.Event):
            password_hash: str

    @event("Registered")
    def __init__(self, personal: dict[str, Any], password_hash: str) -> None:
        self.email = personal["email"]
        self.name = personal["name"]
        self.password_hash = password_hash
        self.last_active_at: datetime | None = None
        self.workspace_ids: list[UUID] = []

    @event("PasswordChanged")
    def change_password(self, password_hash: str) -> None:
        """Store a new hash (computed by the caller)."""
        self.password_hash = password_hash

    @event("SignedIn")
    def signed_in(self, workspace_id: UUID, at: datetime) -> None:
        """Record a successful sign-in: the last-active time."""
        self.last_active_at = at

    def join(self, workspace_id: UUID) -> None:
        """Remember a workspace this account became a member of (no-op if already listed)."""
        if workspace_id not in self.workspace_ids:
            self._joined_workspace(workspace_id=workspace_id)

    @event("JoinedWorkspace")
    def _joined_workspace(self, workspace_id: UUID) -> None:
        self.workspace_ids.append(workspace_id)


class AccountEmailIndex(Aggregate):
    """Maps an email (by its hash) to the account; a second account with the same email conflicts on save."""

    @staticmethod
    def create_id(email_hash: str, account_id: UUID) -> UUID:
        """Id derived from the email hash, so sign-in is one read by id."""
        return uuid5(_EMAIL_NS, email_hash)

    @event("Registered")
    def __init__(self, email_hash: str, account_id: UUID) -> None:
        self.account_id = account_id
