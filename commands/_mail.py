"""Email to people (invitations, password-reset links): written to the ``mail_outbox`` table, sent by the worker.

A request never talks to the SMTP server: it writes one row (one short round trip) and notifies the worker
(``NOTIFY chatassist_mail``), which sends it with retries (workers/mail.py). A row survives a crash of either
side, so no link is lost once the request has answered (docs/adr/0041-email-outbox.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from psycopg_pool import ConnectionPool

CHANNEL = "chatassist_mail"
INSERT = (
    "INSERT INTO mail_outbox (id, kind, workspace_id, recipient, subject, body_text, expires_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def invite_message(inviter: str, workspace: str, role: str, link: str, expires_at: datetime) -> tuple[str, str]:
    """The subject and text of an invitation."""
    until = expires_at.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC")
    subject = f"{inviter} invited you to {workspace} on ChatAssist"
    text = (
        f"{inviter} invited you to join the {workspace} workspace on ChatAssist as {role.capitalize()}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        f"The link works once, until {until}. If you did not expect this invitation, ignore this email.\n"
    )
    return subject, text


def reset_message(link: str, expires_at: datetime) -> tuple[str, str]:
    """The subject and text of a password-reset email."""
    until = expires_at.astimezone(UTC).strftime("%H:%M UTC")
    subject = "Reset your ChatAssist password"
    text = (
        "Someone asked to reset the password of your ChatAssist account.\n\n"
        f"Choose a new password:\n{link}\n\n"
        f"The link works once, until {until}. If it was not you, ignore this email: your password stays as it is.\n"
    )
    return subject, text


class MailOutbox:
    """Queues email in PostgreSQL for the worker's sender. A password-reset ``Sender`` too. Methods block."""

    durable = True  # a queued message survives a crash (web/password_reset.py queues it in the request)

    def __init__(self, database_url: str, max_connections: int = 2) -> None:
        self.pool = ConnectionPool(
            database_url, min_size=0, max_size=max_connections, open=True, kwargs={"autocommit": True}
        )

    def queue(
        self, kind: str, recipient: str, subject: str, text: str, expires_at: datetime, workspace_id: UUID | None
    ) -> UUID:
        """Write the message and wake the senders; returns its id."""
        message_id = uuid4()
        with self.pool.connection() as conn:
            conn.execute(INSERT, (message_id, kind, workspace_id, recipient, subject, text, expires_at))
            conn.execute(f"NOTIFY {CHANNEL}")
        return message_id

    def send_invite(
        self,
        recipient: str,
        link: str,
        expires_at: datetime,
        *,
        inviter: str,
        workspace: str,
        role: str,
        workspace_id: UUID,
    ) -> UUID:
        """Queue an invitation to ``recipient``."""
        subject, text = invite_message(inviter, workspace, role, link, expires_at)
        return self.queue("invite", recipient, subject, text, expires_at, workspace_id)

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        """Queue a password-reset link (the ``Sender`` of commands/_password_reset.py)."""
        subject, text = reset_message(link, expires_at)
        self.queue("password_reset", email, subject, text, expires_at, None)

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()
