"""The Team screen in a real browser (Debian's Chromium, Playwright) against the real app, PostgreSQL, Redis and the
real mail path: the invitation is queued by the request, sent by the worker's mail sender over SMTP, and received by
a local SMTP server (aiosmtpd) from which the test takes the link, as the invited person would from their inbox.

An Admin invites an Agent; the email arrives; the Agent accepts in a second browser context through the emailed
link and lands in the dashboard; the Admin sees the new member and the counters change, makes them a Viewer; the
Viewer sees the team without any admin control and no Knowledge menu; the Admin removes them. The last Admin's own
role cannot be changed and the page says why. A password reset is emailed the same way. Every page is checked with
axe-core and photographed at desktop and phone width into docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands._mail import MailOutbox
from read_api._live import LiveHub
from tests.conftest import generous_limits
from tests.e2e.test_dashboard_browser import AXE, CHROMIUM, CHROMIUM_ARGS, DESKTOP, TIMEOUT_MS, look
from tests.fakes.smtp import FakeSmtp
from tests.support.accounts import PASSWORD, sign_up, unique_email
from tests.support.browser import fill_sign_in
from tests.support.server import ThreadedServer
from web.app import create_app
from web.password_reset import PasswordResets
from workers.mail import MailSender, SmtpSettings

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists() or not AXE.exists():
        pytest.fail(f"needs Chromium at {CHROMIUM} and axe-core in web/static/vendor/ (`bash scripts/install test`)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def smtp() -> Iterator[FakeSmtp]:
    """The receiving end of our emails."""
    with FakeSmtp() as server:
        yield server


@pytest.fixture(scope="module")
def mail_site(container: Container, smtp: FakeSmtp) -> Iterator[ThreadedServer]:
    """The real app with email on: invitations and reset links go to the outbox, a mail sender (as in `chatassist
    worker`) delivers them to the local SMTP server."""
    assert container.auth is not None
    auth = container.auth
    outbox = MailOutbox(container.database_url)
    sender = MailSender(
        container.database_url, SmtpSettings("127.0.0.1", smtp.port, "ChatAssist <team@example.com>", security="none"),
        poll_s=1.0,
    ).start()  # fmt: skip
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
        live=LiveHub(container.redis_url),
        password_resets=PasswordResets(auth, outbox),
    )
    server = ThreadedServer(app).start()
    saved = auth.public_url, auth.mail
    auth.public_url, auth.mail = server.base_url, outbox
    try:
        yield server
    finally:
        auth.public_url, auth.mail = saved
        server.stop()
        sender.stop()
        outbox.close()


def counter(page: Any, name: str) -> str:
    """A counter of the team screen, as shown."""
    return str(page.locator(f'[data-counter="{name}"] .kpi-value').inner_text()).strip()


def new_context(browser: Any, base: str, refused: list[str]) -> Any:
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    context.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return context


def test_an_admin_invites_an_agent_by_email_and_the_agent_joins(
    mail_site: ThreadedServer,
    smtp: FakeSmtp,
    browser: Any,
    container: Container,
) -> None:
    base = mail_site.base_url
    refused: list[str] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        admin, _ = sign_up(client, workspace="Team Northwind")
    admin_context = new_context(browser, base, refused)
    page = admin_context.new_page()

    # Given an Admin alone in the workspace, on the Team screen
    fill_sign_in(page, admin.email)
    page.get_by_role("link", name="Team").click()
    page.wait_for_url(f"{base}/app/team")
    expect(page.get_by_role("heading", name="Team members & permission roles")).to_be_visible()
    assert (counter(page, "total"), counter(page, "admin"), counter(page, "agent"), counter(page, "seats")) == (
        "1", "1", "0", "1 / 20",
    )  # fmt: skip
    # I expect their own role locked, and the page saying why
    me = page.locator(f'[data-member="{admin.email}"]')
    expect(me.get_by_role("combobox")).to_be_disabled()
    expect(me.locator(".last-admin-note")).to_have_text(
        "The only Admin: make another member Admin before changing this role or removing them."
    )
    expect(me.get_by_role("button", name=re.compile("Remove"))).to_be_disabled()

    # When they invite an Agent by email
    agent_email = unique_email("agent")
    page.get_by_label("Email", exact=True).fill(agent_email)
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_role("button", name="Send invitation").click()
    # I expect the page to say it was emailed, the invitation waiting, and the email in the inbox with the link
    expect(page.locator(".invite-done")).to_have_text(f"Invitation emailed to {agent_email}.")
    expect(page.locator(".waiting")).to_contain_text("Agent")
    (mail,) = smtp.wait_for(agent_email)
    assert mail.subject == "Ada Admin invited you to Team Northwind on ChatAssist"
    assert mail.message["From"] == "ChatAssist <team@example.com>"
    link = mail.link("/accept-invite")
    assert link.startswith(f"{base}/accept-invite?token=")
    look(page, "team")

    # When the Agent opens the link in their own browser and joins
    agent_context = new_context(browser, base, refused)
    agent = agent_context.new_page()
    agent.goto(link)
    look(agent, "accept-invite")
    agent.get_by_label("Your name (new accounts)").fill("Sam Rivera")
    agent.get_by_label("Password").fill(PASSWORD)
    agent.get_by_role("button", name="Join the workspace").click()
    # I expect them in the dashboard of the workspace, as an Agent
    agent.wait_for_url(f"{base}/app")
    expect(agent.locator(".sidebar")).to_contain_text("Team Northwind")
    expect(agent.locator(".who")).to_contain_text("Agent")

    # and the Admin's team to show them, active now, with the counters changed
    page.reload()
    row = page.locator(f'[data-member="{agent_email}"]')
    expect(row).to_contain_text("Sam Rivera")
    expect(row).to_contain_text("Chat monitoring · Escalation handling")
    expect(row.locator(".member-status")).to_have_text("Active now")
    assert (counter(page, "total"), counter(page, "agent"), counter(page, "seats")) == ("2", "1", "2 / 20")
    expect(page.locator(".waiting")).to_have_count(0)

    # When the Admin makes them a Viewer
    row.get_by_role("combobox").select_option("viewer")
    row.get_by_role("button", name=re.compile("Change role")).click()
    # I expect the list and counters to follow, without a reload
    expect(page.locator('[data-counter="viewer"] .kpi-value')).to_have_text("1")
    expect(page.locator('[data-counter="agent"] .kpi-value')).to_have_text("0")
    expect(page.locator(f'[data-member="{agent_email}"] .badge')).to_have_text("Viewer")

    # and the Viewer to see the team with no admin control, and no Knowledge menu
    agent.goto("/app/team")
    expect(agent.locator(f'[data-member="{admin.email}"]')).to_be_visible()
    expect(agent.get_by_role("button", name="Send invitation")).to_have_count(0)
    expect(agent.locator(".member-actions")).to_have_count(0)
    expect(agent.locator(".menu")).not_to_contain_text("Knowledge")
    look(agent, "team-viewer")
    refused_page = agent.goto("/app/knowledge")
    assert refused_page is not None and refused_page.status == 403

    # When the Admin removes them (confirming the question)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'[data-member="{agent_email}"]').get_by_role("button", name=re.compile("Remove")).click()
    # I expect them gone and the seat free
    expect(page.locator(f'[data-member="{agent_email}"]')).to_have_count(0)
    expect(page.locator('[data-counter="seats"] .kpi-value')).to_have_text("1 / 20")
    assert not refused, refused
    agent_context.close()
    admin_context.close()


def test_a_refused_invitation_keeps_what_was_typed(mail_site: ThreadedServer, browser: Any) -> None:
    base = mail_site.base_url
    with httpx.Client(base_url=base, timeout=30) as client:
        admin, _ = sign_up(client, workspace="Typo Inc")
    context = new_context(browser, base, [])
    page = context.new_page()
    fill_sign_in(page, admin.email)
    page.goto("/app/team")
    # When the Admin invites an address that is not one
    page.get_by_label("Email", exact=True).fill("not-an-address")
    page.get_by_role("button", name="Send invitation").click()
    # I expect the API's sentence by the field, and the text kept
    expect(page.locator('[data-error-for="email"]')).not_to_be_empty()
    expect(page.get_by_label("Email", exact=True)).to_have_value("not-an-address")
    context.close()


def test_a_password_reset_link_arrives_by_email_and_works(mail_site: ThreadedServer, smtp: FakeSmtp) -> None:
    with httpx.Client(base_url=mail_site.base_url, timeout=30) as client:
        # Given an account
        admin, _ = sign_up(client, workspace="Forgetful Ltd")
        # When its owner asks for a reset link
        asked = client.post("/api/auth/password-reset", json={"email": admin.email})
        assert asked.status_code == 202, asked.text
        # I expect the email with a link to the reset page, and the link to set a new password
        (mail,) = smtp.wait_for(admin.email)
        assert mail.subject == "Reset your ChatAssist password"
        link = mail.link("/reset-password")
        token = httpx.URL(link).params["token"]
        page = client.get(link)
        assert page.status_code == 200 and "new password" in page.text.lower()
        new_password = PASSWORD + "-new"
        done = client.post("/api/auth/password-reset/confirm", json={"token": token, "new_password": new_password})
        assert done.status_code == 200, done.text
        signed_in = client.post("/api/auth/login", json={"email": admin.email, "password": new_password})
        assert signed_in.status_code == 200, signed_in.text
