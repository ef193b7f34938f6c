"""The mail sender of ``chatassist worker``: claims due rows of ``mail_outbox``, sends each through SMTP (the
standard library's ``smtplib``), records the outcome and schedules a retry. Several workers share the table: a claim
is a row lock taken with SKIP LOCKED plus a lease, so a message is sent by one of them (at least once: a crash
between the server's acceptance and the record sends it again, with the same Message-ID)."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import psycopg

from commands._mail import CHANNEL

log = logging.getLogger("chatassist.mail")
RETRY_S = (30, 120, 600, 1800, 3600, 3 * 3600)  # after each failed attempt; then the message is given up
LEASE_S = 120
CLAIM = (
    "UPDATE mail_outbox SET status = 'sending', attempts = attempts + 1,"
    " lease_until = now() + make_interval(secs => %(lease)s) WHERE id IN (SELECT id FROM mail_outbox"
    " WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'sending' AND lease_until < now())"
    " ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
    " RETURNING id, recipient, subject, body_text, attempts, expires_at <= now() AS expired"
)
SENT = (
    "UPDATE mail_outbox SET status = 'sent', sent_at = now(), body_text = NULL, lease_until = NULL, last_error = NULL"
    " WHERE id = %s"
)
RETRY = (
    "UPDATE mail_outbox SET status = 'pending', lease_until = NULL, last_error = %s,"
    " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s"
)
GIVE_UP = (
    "UPDATE mail_outbox SET status = 'failed', body_text = NULL, lease_until = NULL, last_error = %s WHERE id = %s"
)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send: ``security`` is ``starttls`` (port 587), ``ssl`` (port 465) or ``none`` (a local
    relay); ``sender`` the From address ("ChatAssist <no-reply@example.com>")."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    security: str = "starttls"
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.security not in ("starttls", "ssl", "none"):
            raise ValueError("CHATASSIST_SMTP_SECURITY must be starttls, ssl or none")


def message_of(settings: SmtpSettings, row: dict[str, Any]) -> EmailMessage:
    """The email of an outbox row (its Message-ID is the row's id: a resend after a crash is the same message)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.sender, row["recipient"], row["subject"]
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = settings.sender.rsplit("@", 1)[-1].strip("> ") or "chatassist"
    msg["Message-ID"] = f"<{row['id']}@{domain}>"
    msg.set_content(row["body_text"] or "")
    return msg


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_s, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.username:
        client.login(settings.username, settings.password or "")
    return client


def _permanent(err: Exception) -> bool:
    """A refusal the server will repeat (5xx for this recipient or message)."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in err.recipients.values())
    return (
        isinstance(err, smtplib.SMTPResponseException)
        and err.smtp_code >= 500
        and not isinstance(err, smtplib.SMTPAuthenticationError)
    )


class MailSender:
    """Sends what is due, then waits for a NOTIFY (or ``poll_s``) and does it again, in a thread of its own."""

    def __init__(self, database_url: str, settings: SmtpSettings, poll_s: float = 30.0, batch: int = 20) -> None:
        self.database_url, self.settings, self.poll_s, self.batch = database_url, settings, poll_s, batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send_due(self) -> int:
        """One pass: claim up to ``batch`` due messages and try each once; returns how many were sent."""
        with psycopg.connect(self.database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
            rows = conn.execute(CLAIM, {"lease": LEASE_S, "limit": self.batch}).fetchall()
            if not rows:
                return 0
            sent = 0
            client: smtplib.SMTP | None = None
            try:
                for row in rows:
                    if row["expired"] or row["body_text"] is None:
                        conn.execute(GIVE_UP, ("the link expired before it could be sent", row["id"]))
                        continue
                    try:
                        client = client or _connect(self.settings)
                        client.send_message(message_of(self.settings, row))
                    except (smtplib.SMTPException, OSError) as err:
                        client = None if not isinstance(err, smtplib.SMTPRecipientsRefused) else client
                        self._failed(conn, row, err)
                        continue
                    conn.execute(SENT, (row["id"],))
                    sent += 1
                    log.info("mail %s sent", row["id"])
            finally:
                if client is not None:
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        client.quit()
            return sent

    def _failed(self, conn: psycopg.Connection[Any], row: dict[str, Any], err: Exception) -> None:
        reason = f"{type(err).__name__}: {err}"[:500]
        if _permanent(err) or row["attempts"] > len(RETRY_S):
            conn.execute(GIVE_UP, (reason, row["id"]))
            log.error("mail %s given up after %d attempts: %s", row["id"], row["attempts"], reason)
            return
        delay = RETRY_S[row["attempts"] - 1]
        conn.execute(RETRY, (reason, delay, row["id"]))
        log.warning("mail %s not sent (attempt %d), next in %ds: %s", row["id"], row["attempts"], delay, reason)

    def run(self) -> None:
        """Until ``stop``: send what is due, then sleep until a NOTIFY, a retry's time or ``poll_s``."""
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        while self.send_due() == self.batch and not self._stop.is_set():
                            pass
                        for _ in listener.notifies(timeout=self._wait_s(listener), stop_after=1):
                            pass
            except Exception:  # the database gone for a moment: wait and start again
                log.warning("mail sender: database error, retrying in 5 s", exc_info=True)
                self._stop.wait(5)

    def _wait_s(self, conn: psycopg.Connection[Any]) -> float:
        row = conn.execute(
            "SELECT extract(epoch FROM min(coalesce(lease_until, next_attempt_at)) - now()) FROM mail_outbox"
            " WHERE status IN ('pending', 'sending')"
        ).fetchone()
        due = float(row[0]) if row and row[0] is not None else self.poll_s
        return min(self.poll_s, max(0.05, due))

    def start(self) -> MailSender:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="mail-sender", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait for it (a waiting listener notices within ``poll_s``; it is a daemon)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=min(timeout, self.poll_s + 1))
