"""Shared by the password-reset commands: the token kind, the password fingerprint and the pluggable sender."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Protocol

TOKEN_KIND = "password_reset"
log = logging.getLogger("chatassist.password_reset")


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the account's current password hash, carried by its reset tokens.

    A token is good only while the password is the one it was issued for: once any reset (or change) is
    recorded, every earlier token is spent. That is what makes a token single-use, from the event stream alone.
    """
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


class Sender(Protocol):
    """Delivers a password-reset link (an email service in production)."""

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        """Send ``link`` to ``email``; the link holds the single-use token."""


class LogSender:
    """The default sender: in development it logs the link (with its token) at INFO; in production it refuses,
    logging that no sender is configured, without the token."""

    def __init__(self, *, production: bool) -> None:
        self.production = production

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        """Log the link, or (production) log that it could not be sent."""
        if self.production:
            log.error("password reset requested but no email sender is configured: nothing was sent")
            return
        log.info("password reset link for %s (valid until %s): %s", email, expires_at.isoformat(), link)
