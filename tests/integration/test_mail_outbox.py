"""Email through the outbox: a request queues a row, the worker's sender delivers it over real SMTP (a local aiosmtpd
server), retries when the server is down, gives up on a permanent refusal or an expired link, and takes over a
message whose sender died mid-send.

Given / When / I expect, each against real PostgreSQL and a real SMTP conversation.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from chatassist.bootstrap import Container
from commands._mail import MailOutbox
from tests.fakes.smtp import FakeSmtp
from tests.support.accounts import unique_email
from workers.mail import MailSender, SmtpSettings


@pytest.fixture
def outbox(container: Container) -> Iterator[MailOutbox]:
    box = MailOutbox(container.database_url)
    yield box
    box.close()


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


def sender_for(container: Container, port: int) -> MailSender:
    return MailSender(container.database_url, SmtpSettings("127.0.0.1", port, "ChatAssist <no-reply@example.com>",
                                                           security="none", timeout_s=5.0))  # fmt: skip


def row(container: Container, message_id: UUID) -> dict[str, Any]:
    with psycopg.connect(container.database_url, row_factory=psycopg.rows.dict_row) as conn:
        found = conn.execute("SELECT * FROM mail_outbox WHERE id = %s", (message_id,)).fetchone()
    assert found is not None
    return found


def execute(container: Container, sql: str, *args: Any) -> None:
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(sql, args)


def soon(minutes: int = 30) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_an_invitation_is_sent_once_and_its_body_is_then_forgotten(
    container: Container, outbox: MailOutbox, smtp: FakeSmtp
) -> None:
    # Given an invitation queued by a request
    to = unique_email("invited")
    message_id = outbox.send_invite(to, "http://dash.example/accept-invite?token=abc.def", soon(), inviter="Ada",
                                    workspace="Acme", role="agent", workspace_id=uuid4())  # fmt: skip
    assert row(container, message_id)["status"] == "pending"
    # When the worker's sender runs (twice: the second pass finds nothing of it to send)
    sender = sender_for(container, smtp.port)
    sender.send_due()
    sender.send_due()
    # I expect one email, with the link and the inviter, from the configured sender, with the row's id as Message-ID
    (mail,) = smtp.wait_for(to)
    assert mail.subject == "Ada invited you to Acme on ChatAssist"
    assert "as Agent" in mail.text and mail.link("/accept-invite") == "http://dash.example/accept-invite?token=abc.def"
    assert mail.message["From"] == "ChatAssist <no-reply@example.com>"
    assert mail.message["Message-ID"] == f"<{message_id}@example.com>"
    # and the row sent, its body (the token) cleared
    stored = row(container, message_id)
    assert stored["status"] == "sent" and stored["body_text"] is None and stored["attempts"] == 1
    assert len(smtp.to(to)) == 1


def test_a_server_that_is_down_gets_the_email_later(container: Container, outbox: MailOutbox) -> None:
    # Given a reset link queued while the SMTP server is not listening
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    to = unique_email("reset")
    outbox.send_password_reset(to, "http://dash.example/reset-password?token=t1", soon())
    with psycopg.connect(container.database_url) as conn:
        (message_id,) = conn.execute("SELECT id FROM mail_outbox WHERE recipient = %s", (to,)).fetchone()  # type: ignore[misc]
    # When the sender tries
    assert sender_for(container, port).send_due() == 0
    # I expect the message kept, with the reason and a retry scheduled in the future
    stored = row(container, message_id)
    assert stored["status"] == "pending" and stored["attempts"] == 1 and stored["body_text"]
    assert "Connection" in stored["last_error"] or "refused" in stored["last_error"].lower()
    assert stored["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=20)
    # When the server is up and the retry is due
    with FakeSmtp() as smtp:
        execute(container, "UPDATE mail_outbox SET next_attempt_at = now() WHERE id = %s", message_id)
        sender_for(container, smtp.port).send_due()
        (mail,) = smtp.wait_for(to)
    # I expect the email, and the row sent on its second attempt
    assert mail.subject == "Reset your ChatAssist password" and mail.link("/reset-password").endswith("token=t1")
    assert row(container, message_id)["status"] == "sent" and row(container, message_id)["attempts"] == 2


def test_a_refused_address_and_an_expired_link_are_given_up(
    container: Container, outbox: MailOutbox, smtp: FakeSmtp
) -> None:
    # Given an address the server refuses for good, and a link that expired while waiting
    refused, late = unique_email("refused"), unique_email("late")
    smtp.handler.refuse[refused] = "550 5.1.1 No such user"
    first = outbox.queue("invite", refused, "Hi", "link", soon(), None)
    second = outbox.queue("invite", late, "Hi", "link", datetime.now(UTC) - timedelta(seconds=1), None)
    # When the sender runs
    sender_for(container, smtp.port).send_due()
    # I expect both failed with their reason, no body kept, nothing sent
    one, two = row(container, first), row(container, second)
    assert one["status"] == "failed" and "550" in one["last_error"] and one["body_text"] is None
    assert two["status"] == "failed" and "expired" in two["last_error"] and two["body_text"] is None
    assert not smtp.to(refused) and not smtp.to(late)


def test_a_message_whose_sender_died_mid_send_is_taken_over(
    container: Container, outbox: MailOutbox, smtp: FakeSmtp
) -> None:
    # Given a message claimed by a sender that then died (its lease ran out)
    to = unique_email("orphan")
    message_id = outbox.queue("invite", to, "Hi", "the link", soon(), None)
    execute(container, "UPDATE mail_outbox SET status = 'sending', attempts = 1, lease_until = now() - interval '1 s'"
                       " WHERE id = %s", message_id)  # fmt: skip
    # When another sender runs
    sender_for(container, smtp.port).send_due()
    # I expect it sent
    smtp.wait_for(to)
    assert row(container, message_id)["status"] == "sent"


def test_the_running_sender_wakes_on_a_new_message(container: Container, outbox: MailOutbox, smtp: FakeSmtp) -> None:
    # Given the sender running in its thread, idle (its poll is long: only the NOTIFY can wake it)
    sender = MailSender(container.database_url, SmtpSettings("127.0.0.1", smtp.port, "x@example.com", security="none"),
                        poll_s=600).start()  # fmt: skip
    try:
        to = unique_email("woken")
        # When a request queues an email
        outbox.send_password_reset(to, "http://dash.example/reset-password?token=t2", soon())
        # I expect it delivered without waiting for a poll
        smtp.wait_for(to, timeout=30)
    finally:
        sender._stop.set()
        outbox.queue("noop", unique_email("stop"), "stop", "", soon(), None)  # wake it so it sees the stop
        sender.stop(timeout=10)
