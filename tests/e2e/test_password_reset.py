"""End to end over the real server: password reset by a signed, single-use, expiring token."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands._password_reset import LogSender
from tests.conftest import event_names
from tests.support.accounts import PASSWORD, sign_up, unique_email
from tests.support.server import ThreadedServer
from web.app import create_app
from web.password_reset import ACCEPTED, PasswordResets

NEW_PASSWORD = "maple-Lantern-317"


@dataclass
class CapturingSender:
    """A Sender that keeps what it was asked to send."""

    sent: list[tuple[str, str, datetime]] = field(default_factory=list)

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        self.sent.append((email, link, expires_at))

    def token_for(self, email: str) -> str:
        """The token of the last link sent to ``email`` (waiting for it: links leave off the request path)."""
        deadline = time.monotonic() + 10
        while not any(to == email for to, _, _ in self.sent) and time.monotonic() < deadline:
            time.sleep(0.01)
        link = next(link for to, link, _ in reversed(self.sent) if to == email)
        return parse_qs(urlsplit(link).query)["token"][0]


@pytest.fixture(scope="module")
def reset_server(container: Container) -> Iterator[tuple[httpx.Client, CapturingSender, PasswordResets]]:
    """The real app with a capturing sender."""
    assert container.auth is not None
    sender = CapturingSender()
    resets = PasswordResets(container.auth, sender)
    app = create_app(
        container.chat, container.transcripts, ready_checks(container), auth=container.auth, password_resets=resets
    )
    server = ThreadedServer(app).start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client, sender, resets
    server.stop()


def request_reset(client: httpx.Client, email: str) -> httpx.Response:
    """POST /api/auth/password-reset."""
    return client.post("/api/auth/password-reset", json={"email": email})


def confirm(client: httpx.Client, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
    """POST /api/auth/password-reset/confirm."""
    return client.post("/api/auth/password-reset/confirm", json={"token": token, "new_password": password})


def refused(response: httpx.Response, status: int, code: str) -> None:
    """Assert the status and stable code."""
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    """POST /api/auth/login."""
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_a_reset_link_sets_a_new_password_once_and_signs_out_old_sessions(
    reset_server: tuple[httpx.Client, CapturingSender, PasswordResets], container: Container
) -> None:
    client, sender, resets = reset_server
    # Given an admin signed in
    admin, _ = sign_up(client)
    assert client.get("/api/auth/me", headers=admin.headers).status_code == 200
    # When they ask for a reset link (with the email in other case) and use it
    asked = request_reset(client, admin.email.upper())
    assert asked.status_code == 202 and asked.json() == {"message": ACCEPTED}
    resets.drain()  # links leave off the request path
    email, link, expires_at = sender.sent[-1]
    assert email == admin.email and link.startswith(container.auth.public_url + "/reset-password?token=")  # type: ignore[union-attr]
    assert timedelta(minutes=29) < expires_at - datetime.now(UTC) <= timedelta(minutes=30)
    token = sender.token_for(admin.email)
    done = confirm(client, token)
    assert done.status_code == 200, done.text
    # I expect the new password to work, the old one not, and the old session to be signed out
    refused(client.get("/api/auth/me", headers=admin.headers), 401, "token_revoked")
    refused(client.post("/api/auth/refresh", json={"refresh_token": admin.refresh_token}), 401, "token_revoked")
    refused(login(client, admin.email, PASSWORD), 401, "invalid_credentials")
    fresh = login(client, admin.email, NEW_PASSWORD)
    assert fresh.status_code == 200
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.status_code == 200
    assert event_names(container, admin.account_id).count("PasswordChanged") == 1
    # and the link to work only once
    refused(confirm(client, token, "another-Pass-4242"), 409, "reset_token_used")
    assert event_names(container, admin.account_id).count("PasswordChanged") == 1


def test_an_unknown_email_gets_the_same_answer_and_nothing_is_sent(
    reset_server: tuple[httpx.Client, CapturingSender, PasswordResets], container: Container
) -> None:
    client, sender, resets = reset_server
    admin, _ = sign_up(client)
    known = request_reset(client, admin.email)
    resets.drain()
    before, events = len(sender.sent), container.app.recorder.max_notification_id()
    unknown = request_reset(client, unique_email("nobody"))
    resets.drain()
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (202, {"message": ACCEPTED})
    assert len(sender.sent) == before and container.app.recorder.max_notification_id() == events
    assert request_reset(client, f"not an email {uuid.uuid4().hex}").status_code == 202


def test_tampered_expired_and_weak_are_refused_without_a_change(
    reset_server: tuple[httpx.Client, CapturingSender, PasswordResets], container: Container
) -> None:
    client, sender, resets = reset_server
    admin, _ = sign_up(client)
    request_reset(client, admin.email)
    token = sender.token_for(admin.email)
    events = container.app.recorder.max_notification_id()
    # tampered: one character of the signature changed, or a token of another kind
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    refused(confirm(client, tampered), 400, "invalid_reset_token")
    refused(confirm(client, admin.access_token), 400, "invalid_reset_token")
    refused(confirm(client, "garbage"), 400, "invalid_reset_token")
    # weak: the policy of sign-up applies, and the token stays usable
    refused(confirm(client, token, "short"), 422, "weak_password")
    assert container.app.recorder.max_notification_id() == events
    # expired: a token issued with a 1-second lifetime, used 2 seconds later
    resets.ttl = timedelta(seconds=1)
    try:
        other, _ = sign_up(client)
        request_reset(client, other.email)
        expiring = sender.token_for(other.email)
    finally:
        resets.ttl = timedelta(minutes=30)
    time.sleep(2.1)
    refused(confirm(client, expiring), 410, "reset_token_expired")
    assert "PasswordChanged" not in event_names(container, other.account_id)
    assert confirm(client, token).status_code == 200


def test_reset_requests_are_throttled_per_email(
    reset_server: tuple[httpx.Client, CapturingSender, PasswordResets],
) -> None:
    client, _, _ = reset_server
    for email in (unique_email("throttled"), unique_email("unknown")):  # the same for an unknown email: no leak
        for _ in range(3):
            assert request_reset(client, email).status_code == 202
        limited = request_reset(client, email)
        refused(limited, 429, "too_many_reset_requests")
        assert 0 < int(limited.headers["retry-after"]) <= 15 * 60


def test_the_default_sender_logs_the_link_only_outside_production(caplog: pytest.LogCaptureFixture) -> None:
    token = f"tok-{uuid.uuid4().hex}"
    link = f"https://app.example.com/reset-password?token={token}"
    with caplog.at_level(logging.INFO, logger="chatassist.password_reset"):
        LogSender(production=False).send_password_reset("ana@example.com", link, datetime.now(UTC))
        assert token in caplog.text
        caplog.clear()
        LogSender(production=True).send_password_reset("ana@example.com", link, datetime.now(UTC))
    assert token not in caplog.text and "no email sender is configured" in caplog.text


def test_a_server_started_without_chatassist_env_logs_no_reset_link(
    ai_server: ThreadedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the app wired by bootstrap() from settings that do not set CHATASSIST_ENV (as web and worker are)
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as client:
        admin, _ = sign_up(client)
        # When a reset is requested for a real account
        with caplog.at_level(logging.DEBUG):
            assert request_reset(client, admin.email).status_code == 202
            deadline = time.monotonic() + 10  # the link leaves off the request path
            while "no email sender is configured" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.01)
    # I expect no link and no token in any log line, only the note that no sender is configured
    assert "reset-password" not in caplog.text and "token=" not in caplog.text
    assert "no email sender is configured" in caplog.text


def test_only_chatassist_up_defaults_to_development() -> None:
    from chatassist.settings import laptop_env, load_settings

    # Given no CHATASSIST_ENV: web, worker and every other command are production; `up` is development
    assert load_settings({}).env == "production"
    assert laptop_env(load_settings({}), {}).env == "development"
    # Given an explicit CHATASSIST_ENV, `up` keeps it
    explicit = {"CHATASSIST_ENV": "production"}
    assert laptop_env(load_settings(explicit), explicit).env == "production"


@dataclass
class SlowSender(CapturingSender):
    """A mail server that takes 0.3 s to accept a message."""

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        time.sleep(0.3)
        super().send_password_reset(email, link, expires_at)


def test_a_known_email_is_answered_in_the_time_of_an_unknown_one(container: Container) -> None:
    # Given a slow mail server behind the reset endpoint
    assert container.auth is not None
    sender = SlowSender()
    resets = PasswordResets(container.auth, sender)
    app = create_app(
        container.chat, container.transcripts, ready_checks(container), auth=container.auth, password_resets=resets
    )
    server = ThreadedServer(app).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            admin, _ = sign_up(client)
            # When a reset is asked for an email with an account, and for one without
            timings = {}
            for kind, email in (("known", admin.email), ("unknown", unique_email("nobody"))):
                began = time.monotonic()
                assert request_reset(client, email).status_code == 202
                timings[kind] = time.monotonic() - began
            # I expect neither answer to wait for the mail server, both held to the same floor
            assert 0.05 <= timings["known"] < 0.3 and 0.05 <= timings["unknown"] < 0.3, timings
            # and the link still sent, once
            assert sender.token_for(admin.email) and len(sender.sent) == 1
    finally:
        server.stop()
