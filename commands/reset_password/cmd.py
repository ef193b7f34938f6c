"""ResetPassword: a genuine, unexpired, unused reset token sets a new password (``PasswordChanged``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands._common import load, update
from commands._password_reset import TOKEN_KIND, password_fingerprint
from commands._passwords import check_password_strength
from commands._security import TokenExpired, TokenSigner, hash_password
from commands.application import ChatAssistApp
from domain.account import Account
from domain.errors import Conflict, DomainError, Gone, NotFound, Unauthorized


@dataclass(frozen=True)
class ResetPassword:
    """The token from the reset link and the new password."""

    token: str
    new_password: str


def invalid() -> DomainError:
    """The one answer for a token that is not genuine (tampered, another kind, another key, unknown account)."""
    return DomainError("This reset link is not valid: request a new one.", code="invalid_reset_token")


def check_token(signer: TokenSigner, token: str) -> dict[str, Any]:
    """The claims of a genuine reset token: 410 ``reset_token_expired``, 400 ``invalid_reset_token`` else."""
    if len(token) > 4096:
        raise invalid()
    try:
        return signer.check(token, TOKEN_KIND)
    except TokenExpired:
        raise Gone(
            "This reset link has expired (links last 30 minutes): request a new one.", code="reset_token_expired"
        ) from None
    except Unauthorized:
        raise invalid() from None


def execute(app: ChatAssistApp, cmd: ResetPassword, signer: TokenSigner) -> UUID:
    """Check the token, then the password policy, then set the password once; returns the account id."""
    claims = check_token(signer, cmd.token)
    try:
        account_id = UUID(str(claims["sub"]))
        load(app, account_id, Account, "account", read_only=True)
    except (KeyError, ValueError, NotFound):
        raise invalid() from None
    password_hash = hash_password(check_password_strength(cmd.new_password))

    def decide(account: Account) -> None:
        if password_fingerprint(account.password_hash) != claims.get("pwf"):
            raise Conflict(
                "This reset link was already used (or the password changed since): request a new one.",
                code="reset_token_used",
            )
        account.change_password(password_hash)

    update(app, account_id, Account, "account", decide)
    return account_id
