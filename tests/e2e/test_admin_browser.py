"""The admin screens in a real browser (Debian's Chromium driven by Playwright) against the real app, PostgreSQL,
Redis, the integrations follower and a real `chatassist worker --actors-only` process; the LLM providers and the
webhook receiver faked at the HTTP level (tests/fakes/).

An admin saves a provider key (first a malformed one: the API's sentence by the field, what was typed kept), tests
it, adds a webhook endpoint pointing at a local receiver, stores its secret shown once, sends a test event and
sees it delivered in the delivery log; changes a setting (first out of range, refused by the field) and sees it
persist; a Viewer gets the refusal page. Every page is checked with axe-core and photographed at desktop and phone
width into docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container, build_providers
from chatassist.cli import ready_checks
from chatassist.settings import Settings
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from tests.conftest import chat, generous_limits
from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, check_accessibility, photograph
from tests.fakes.receivers import FakeHubSpot, FakeSlack, Receiver, vendor_urls
from tests.support.accounts import invite_and_join, sign_up
from tests.support.browser import new_context, sign_in
from tests.support.delivery import delivery_worker
from tests.support.server import ThreadedServer
from web.app import create_app

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect

KEYS_SPEC = generate_key_spec("a1")
ANTHROPIC_KEY = "sk-ant-api03-" + "x" * 28 + "7f3a"
TIMEOUT_MS = 30_000
HUBSPOT_TOKEN = "pat-na1-0123456789abcdef0123"
SLACK = FakeSlack()  # Slack's incoming webhooks, as the connect and Test reach them
HUBSPOT = FakeHubSpot(HUBSPOT_TOKEN)


@pytest.fixture(scope="module")
def admin_app(container: Container, settings: Settings) -> Iterator[ThreadedServer]:
    """The real app with a keys encryption key, private webhook URLs allowed (development), the integrations
    follower on a broker namespace of its own and one delivery worker process on it."""
    SLACK.start()
    HUBSPOT.start()
    private = {"CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS": "true"}
    with delivery_worker(container, "admin", KEYS_SPEC, **private):
        providers = build_providers(replace(settings, keys_encryption_key=KEYS_SPEC), container.app)
        chat = ChatService(container.app, providers, container.usage, RetryPolicy(base_delay_s=0.01), cache_ttl_s=0)
        assert container.auth is not None
        app = create_app(
            chat,
            container.transcripts,
            ready_checks(container),
            auth=container.auth,
            rate_limits=generous_limits(container),
            analytics=container.analytics,
            integrations=Context(container.app, KeyCipher(KEYS_SPEC), True, **vendor_urls(SLACK, HUBSPOT)),
        )
        server = ThreadedServer(app).start()
        yield server
        server.stop()
    SLACK.stop()
    HUBSPOT.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's chromium (as .ci/run does)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def look(page: Any, name: str) -> None:
    check_accessibility(page, name)
    photograph(page, name)


def test_an_admin_configures_keys_webhooks_and_settings(
    admin_app: ThreadedServer, browser: Any, container: Container
) -> None:
    base = admin_app.base_url
    with httpx.Client(base_url=base, timeout=20) as client:
        admin, body = sign_up(client, workspace="Configured Co")
        viewer = invite_and_join(client, admin, "viewer")
        chat(client, body["widget_key"], "How do I reset my password?")  # one model call: a latency to show
    container.wait_for_projections(timeout=60)
    receiver = Receiver().start()
    context = new_context(browser, base, DESKTOP, TIMEOUT_MS)
    refused_by_csp: list[str] = []
    context.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page = sign_in(context, admin.email)

        # Given the API & models screen
        page.get_by_role("link", name="API & models").click()
        page.wait_for_url("**/app/models")
        card = page.locator('[data-provider="anthropic"]')
        expect(card).to_contain_text("Anthropic Claude API — Primary")
        expect(card.locator("[data-latency]")).to_contain_text("avg (1 call, 30 days)")
        # When the admin saves a malformed key
        key_input = card.get_by_label("Add a key")
        key_input.fill("not-a-key")
        card.get_by_role("button", name="Save key").click()
        # I expect the API's sentence next to the field, and what they typed still there
        expect(card.locator('[data-error-for="api_key"]')).to_contain_text("sk-ant-")
        expect(key_input).to_have_value("not-a-key")
        expect(key_input).to_have_attribute("aria-invalid", "true")
        # When they save a real one, then test it
        key_input.fill(ANTHROPIC_KEY)
        card.get_by_role("button", name="Save key").click()
        expect(card.locator("[data-masked]")).to_contain_text("7f3a")
        expect(card.locator("[data-status]")).to_have_text("Not tested yet")
        assert ANTHROPIC_KEY not in page.content()  # never shown again
        card.get_by_role("button", name="Test key").click()
        # I expect the fake provider's acceptance, and the card active
        expect(card.locator("#anthropic-result")).to_contain_text("Works: anthropic accepted the key.")
        expect(card.locator("[data-status]")).to_have_text("Active")
        look(page, "models")

        # Given the integrations screen
        page.get_by_role("link", name="Integrations").first.click()
        page.wait_for_url("**/app/integrations")
        expect(page.locator('[data-integration="slack"]')).to_contain_text("Not connected")
        # When the admin gives Slack something that is not a URL
        slack = page.locator('[data-integration="slack"]')
        slack.locator("summary", has_text="Connect").click()
        slack.get_by_label("Incoming webhook URL").fill("hooks.slack.example")
        slack.locator("button[type=submit]").click()
        # I expect the API's sentence by that field, and the card still not connected
        expect(slack.locator('[data-error-for="webhook_url"]')).not_to_be_empty()
        expect(slack.get_by_label("Incoming webhook URL")).to_have_value("hooks.slack.example")
        expect(slack).to_have_attribute("data-state", "not_connected")
        # When the admin connects HubSpot with a private app's token (first an empty one: refused by the field)
        hubspot = page.locator('[data-integration="hubspot"]')
        hubspot.locator("summary", has_text="Connect").click()
        hubspot.locator("button[type=submit]").click()
        expect(hubspot.locator('[data-error-for="access_token"]')).not_to_be_empty()
        hubspot.get_by_label("Access token").fill(HUBSPOT_TOKEN)
        hubspot.locator("button[type=submit]").click()
        # I expect the card connected (HubSpot accepted the token), the token shown by its last four only
        expect(hubspot).to_have_attribute("data-state", "connected")
        expect(hubspot.locator("#hubspot-result")).to_have_text("HubSpot connected.")
        expect(hubspot.locator("[data-tested]")).to_contain_text("Last test passed: the access token reads contacts")
        # When the admin presses Test on it
        hubspot.get_by_role("button", name="Test").click()
        # I expect HubSpot asked again and the outcome said by the card, once: the result says the test ran, the
        # card's line what it found, and "Connected" only in the badge and the sentence
        expect(hubspot.locator("#hubspot-result")).to_have_text("Tested just now: it works.")
        expect(hubspot.locator("[data-tested]")).to_have_text(
            re.compile(r"^Last test passed: the access token reads contacts \(\d{4}-\d{2}-\d{2}\)\.$")
        )
        expect(hubspot.get_by_text("Connected", exact=False)).to_have_count(2)
        assert sum(r.path.startswith("/crm/v3/objects/contacts?limit=1") for r in HUBSPOT.requests) == 2
        # When the admin connects Slack by an incoming webhook URL, which posts a test message in the channel
        hook = SLACK.url + "/services/T0CONF/B0CONF/x"
        slack.locator("summary", has_text="Connect").click()
        slack.get_by_label("Incoming webhook URL").fill(hook)
        slack.locator("button[type=submit]").click()
        expect(slack).to_have_attribute("data-state", "connected")
        assert [m["text"] for m in SLACK.messages][-1].startswith("ChatAssist is connected")
        # and the webhook is then removed in Slack, and the admin presses Test
        SLACK.revoked.add("/services/T0CONF/B0CONF/x")
        page.locator('[data-integration="slack"]').get_by_role("button", name="Test").click()
        # I expect the card disconnected, saying since when and why
        slack = page.locator('[data-integration="slack"]')
        expect(slack).to_have_attribute("data-state", "disconnected")
        expect(slack.locator("[data-sentence]")).to_contain_text("Disconnected: Slack rejected the credential on")
        expect(slack.locator("[data-sentence]")).to_contain_text("404 no_service")
        # When the admin adds an endpoint pointing at their receiver
        page.get_by_label("Endpoint URL").fill(receiver.url + "/hooks")
        page.get_by_label("Description (optional)").fill("CRM sync")
        page.get_by_role("button", name="Add endpoint").click()
        # I expect its signing secret, once
        secret_box = page.locator("#new-secret")
        expect(secret_box).to_be_visible()
        secret = page.locator("#new-secret-value").inner_text().strip()
        assert secret.startswith("whsec_"), secret
        receiver.secrets.append(secret)
        page.get_by_role("button", name="I have stored it").click()
        endpoint = page.locator(".endpoint").first
        expect(endpoint).to_contain_text(receiver.url + "/hooks")
        expect(endpoint).to_contain_text("escalation.triggered, conversation.closed")
        assert secret not in page.content()
        # When they send a test event
        endpoint.get_by_role("button", name="Send test event").click()
        expect(page.locator(".endpoint .call-result").first).to_contain_text("Test event queued")
        # I expect it delivered, signed with that secret, and shown delivered in the log without a reload
        row = page.locator('#delivery-log tr[data-status="delivered"]', has_text="webhook.test")
        expect(row).to_have_count(1, timeout=90_000)
        expect(row).to_contain_text(receiver.url + "/hooks")
        tests = [r for r in receiver.requests if 200 <= r.status < 300 and b"webhook.test" in r.body]
        assert tests, receiver.requests
        assert receiver.verified_with[tests[0].headers["webhook-id"]] == [0]  # signed with the secret shown
        page.locator(".tabs a", has_text="Delivered").click()
        expect(page.locator('#delivery-log tr[data-status="delivered"]')).to_have_count(1)
        look(page, "integrations")

        # Given the settings screen
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url("**/app/settings")
        turns = page.get_by_label("Max chat history sent to AI (turns)")
        # When the admin asks for more history turns than allowed
        turns.fill("99")
        page.locator("#ai").get_by_role("button", name="Save").click()
        # I expect the API's sentence by the field and their 99 kept
        expect(page.locator('#ai [data-error-for="max_history_turns"]')).to_contain_text("0 to 50")
        expect(turns).to_have_value("99")
        # and with 12, saved and still there after a reload
        turns.fill("12")
        page.locator("#ai").get_by_role("button", name="Save").click()
        expect(page.locator("#ai-done")).to_have_text("Saved.")
        page.reload()
        expect(page.get_by_label("Max chat history sent to AI (turns)")).to_have_value("12")
        # When they type a theme colour, the widget preview follows before saving
        colour = page.locator("#g-widget_theme_colour")
        colour.fill("#2563eb")
        preview = page.locator("[data-widget-preview]")
        assert preview.evaluate("el => el.style.getPropertyValue('--preview')") == "#2563eb"
        page.locator("#general").get_by_role("button", name="Save").click()
        expect(page.locator("#general-done")).to_have_text("Saved.")
        page.reload()
        expect(page.locator("#g-widget_theme_colour")).to_have_value("#2563eb")
        # When they set how long personal data is kept past the limit, I expect the API's sentence and their
        # figure kept; with 30, saved and there after a reload
        retention = page.get_by_label("Personal data retention (days)")
        expect(retention).to_have_value("90")  # the default
        retention.fill("5000")
        page.locator("#general").get_by_role("button", name="Save").click()
        expect(page.locator('#general [data-error-for="personal_data_retention_days"]')).to_contain_text(
            "from 0 (never) to 3650"
        )
        expect(retention).to_have_value("5000")
        retention.fill("30")
        page.locator("#general").get_by_role("button", name="Save").click()
        expect(page.locator("#general-done")).to_have_text("Saved.")
        page.reload()
        expect(page.get_by_label("Personal data retention (days)")).to_have_value("30")
        expect(page.locator("[data-trial]")).to_contain_text("days left")
        expect(page.locator(".storage")).to_contain_text("of the Free trial plan's 1.0 GB")
        look(page, "settings")
        assert not refused_by_csp, refused_by_csp

        # A viewer has none of these screens: the menu does not offer them and a direct URL is refused
        viewer_context = browser.new_context(base_url=base, viewport=DESKTOP)
        viewer_page = sign_in(viewer_context, viewer.email)
        expect(viewer_page.get_by_role("link", name="Settings")).to_have_count(0)
        viewer_page.goto("/app/settings")
        expect(viewer_page.get_by_role("heading", name="You can't open this page")).to_be_visible()
        expect(viewer_page.locator("body")).to_contain_text("settings.manage")
        viewer_context.close()
    finally:
        context.close()
        receiver.stop()
