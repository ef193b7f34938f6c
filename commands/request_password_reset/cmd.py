"""RequestPasswordReset: a signed, single-use, expiring reset link for an account, sent through a Sender.

Unknown emails get exactly the same outcome for the caller (nothing is sent); the answer never tells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from commands._common import account_for_email
from commands._password_reset import TOKEN_KIND, Sender, password_fingerprint
from commands._security import TokenSigner
from commands.application import ChatAssistApp
from domain.account import normalise_email
from domain.errors import InvalidInput

RESET_TTL = timedelta(minutes=30)


@dataclass(frozen=True)
class RequestPasswordReset:
    """``link_base`` is the public URL of the dashboard (the link is ``<link_base>/reset-password?token=…``)."""

    email: str
    link_base: str
    ttl: timedelta = RESET_TTL


@dataclass(frozen=True)
class ResetIssued:
    """The token and its link (for the sender; never in an HTTP answer)."""

    token: str
    link: str
    expires_at: datetime


def execute(app: ChatAssistApp, cmd: RequestPasswordReset, signer: TokenSigner, sender: Sender) -> ResetIssued | None:
    """Sign a token bound to the account's current password and send the link; None when there is no account."""
    try:
        email = normalise_email(cmd.email)
    except InvalidInput:
        return None
    account = account_for_email(app, email)
    if account is None:
        return None
    token, claims = signer.sign(
        TOKEN_KIND, cmd.ttl.total_seconds(), sub=str(account.id), pwf=password_fingerprint(account.password_hash)
    )
    link = f"{cmd.link_base.rstrip('/')}/reset-password?token={quote(token)}"
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    sender.send_password_reset(email, link, expires_at)
    return ResetIssued(token, link, expires_at)
