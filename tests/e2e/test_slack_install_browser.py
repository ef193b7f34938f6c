""" "Add to Slack" in a real browser (Debian's Chromium driven by Playwright) against the real app, PostgreSQL,
Redis, the integrations follower and a real `chatassist worker --actors-only` process; Slack is a local server
speaking its consent page, ``oauth.v2.access``, ``conversations.list``, ``chat.postMessage`` and ``auth.revoke``
(tests/fakes/receivers.py), reached by slack-sdk.

An Admin clicks Add to Slack, allows the app on Slack's page, comes back to Integrations, picks the alert channel
from the bot's channels; a visitor's chat escalates and the alert arrives in that channel. A replayed callback and
a cancelled install each show a page saying what happened, nothing changed. Disconnect revokes the token at Slack.
HubSpot (a revoked grant shown once as Disconnected, then Reconnect) and Zendesk (Connect with Zendesk through
its consent page, PKCE) go the same way against their local fakes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands.integrations.hubspot_oauth import CALLBACK_PATH as HUBSPOT_CALLBACK
from commands.integrations.oauth_apps import HubSpotApp, ZendeskApps, parse_zendesk_clients
from commands.integrations.slack_oauth import CALLBACK_PATH, SlackApp
from commands.integrations.webhooks import Context
from commands.integrations.zendesk_oauth import CALLBACK_PATH as ZENDESK_CALLBACK
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from tests.conftest import chat, generous_limits
from tests.e2e.test_admin_browser import look
from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.fakes.receivers import FakeHubSpot, FakeSlack, FakeZendesk, vendor_urls
from tests.support.accounts import invite_and_join, sign_up
from tests.support.browser import signed_in
from tests.support.delivery import delivery_worker
from tests.support.server import ThreadedServer
from web.app import create_app

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect

KEYS_SPEC = generate_key_spec("s1")
TIMEOUT_MS = 30_000
TOKEN = "xoxb-browser-installed-token-4k9d"
SLACK = FakeSlack(TOKEN)
HUBSPOT = FakeHubSpot("pat-na1-unused-0000000000000")
ZENDESK = FakeZendesk("agent@acme.example", "zd-api-token-unused-0000")
OAUTH_PAGE = "/oauth/authorize"  # HubSpot's consent page, on the fake
# a hidden field naming the Zendesk account's host (the install's optional base_url)
HOST_FIELD = """(form, url) => { const field = document.createElement("input");
  field.type = "hidden"; field.name = "base_url"; field.value = url; form.appendChild(field); }"""
LEGAL_THREAT = "This is fraud, my lawyer will be contacting you about a lawsuit"


class LateApp:
    """The ASGI app, given once the server's address (the OAuth callback URL) is known."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def install_app(container: Container) -> Iterator[ThreadedServer]:
    SLACK.start()
    SLACK.consent_page = True
    HUBSPOT.start()
    ZENDESK.start()
    with delivery_worker(container, "slack", KEYS_SPEC, CHATASSIST_SLACK_API_URL=SLACK.url + "/api/"):
        late = LateApp()
        server = ThreadedServer(late)
        client_id, client_secret = SLACK.client
        callback = server.base_url + CALLBACK_PATH
        slack_app = SlackApp(client_id, client_secret, callback, SLACK.url + "/oauth/v2/authorize")
        assert container.auth is not None
        late.app = create_app(
            _chat(container),
            container.transcripts,
            ready_checks(container),
            auth=container.auth,
            rate_limits=generous_limits(container),
            analytics=container.analytics,
            integrations=Context(
                container.app,
                KeyCipher(KEYS_SPEC),
                True,
                **vendor_urls(SLACK, HUBSPOT),
                slack_app=slack_app,
                hubspot_app=HubSpotApp(*HUBSPOT.client, server.base_url + HUBSPOT_CALLBACK, HUBSPOT.url + OAUTH_PAGE),
                zendesk_apps=ZendeskApps(
                    parse_zendesk_clients(f"acme={ZENDESK.client[0]}:{ZENDESK.client[1]}"),
                    server.base_url + ZENDESK_CALLBACK,
                ),
            ),
        )
        server.start()
        yield server
        server.stop()
    SLACK.stop()
    HUBSPOT.stop()
    ZENDESK.stop()


def _chat(container: Container) -> Any:
    from dataclasses import replace

    from chatassist.bootstrap import build_providers
    from commands.ai.orchestrator import RetryPolicy
    from commands.chat_turn.service import ChatService

    providers = build_providers(replace(container.settings, keys_encryption_key=KEYS_SPEC), container.app)
    return ChatService(container.app, providers, container.usage, RetryPolicy(base_delay_s=0.01), cache_ttl_s=0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def wait_for(check: Any, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_an_admin_adds_slack_picks_the_channel_and_gets_the_escalation_alert_there(
    install_app: ThreadedServer, browser: Any, container: Container
) -> None:
    base = install_app.base_url
    with httpx.Client(base_url=base, timeout=20) as client:
        admin, body = sign_up(client, workspace="Slack Installed Co")
    with signed_in(browser, base, admin.email, DESKTOP, TIMEOUT_MS) as page:
        # Given the Integrations screen, Slack not connected, with Add to Slack offered
        page.goto("/app/integrations")
        slack = page.locator('[data-integration="slack"]')
        expect(slack).to_have_attribute("data-state", "not_connected")
        # When the Admin cancels on Slack's consent page
        slack.get_by_role("link", name="Add to Slack").click()
        expect(page.get_by_role("heading", name="ChatAssist is requesting permission")).to_be_visible()
        page.get_by_role("button", name="Cancel").click()
        # I expect a page saying what happened and what to do, and nothing connected
        expect(page.get_by_role("heading", name="Add to Slack did not finish")).to_be_visible()
        expect(page.locator("[data-oauth-error]")).to_contain_text("cancelled on Slack's page")
        look(page, "slack-install-cancelled")
        page.get_by_role("link", name="Back to Integrations").click()
        slack = page.locator('[data-integration="slack"]')
        expect(slack).to_have_attribute("data-state", "not_connected")

        # When they click Add to Slack again and allow it
        slack.get_by_role("link", name="Add to Slack").click()
        expect(page.get_by_role("heading", name="ChatAssist is requesting permission")).to_be_visible()
        page.get_by_role("button", name="Allow").click()
        # I expect to be back on Integrations, Slack connected, asked to pick the channel among the bot's channels
        page.wait_for_url("**/app/integrations?slack=installed*")
        decide = [r.path for r in SLACK.requests if r.path.startswith("/oauth/v2/decide")][-1]
        slack = page.locator('[data-integration="slack"]')
        expect(slack).to_have_attribute("data-state", "connected")
        expect(slack.locator("[data-slack-installed]")).to_be_visible()
        picker = slack.get_by_label("Alert channel")
        options = picker.locator("option").all_inner_texts()
        assert options == ["#escalations", "#support-alerts", "#support-leads (private)"], options
        expect(picker).to_have_value("C0ALERTS01")  # the one chosen on Slack's page
        assert TOKEN not in page.content()
        # When they pick #escalations
        picker.select_option(label="#escalations")
        slack.get_by_role("button", name="Save channel").click()
        # I expect it saved (after the reload, the card names it)
        expect(page.locator('[data-integration="slack"] #slack-result')).to_have_text("Alert channel saved.")
        expect(page.locator('[data-integration="slack"] h2')).to_contain_text("#escalations")
        expect(page.locator('[data-integration="slack"]').get_by_label("Alert channel")).to_have_value("C0ESCAL002")
        look(page, "slack-installed")

        # When a visitor's chat escalates
        chat(httpx.Client(base_url=base, timeout=20), body["widget_key"], LEGAL_THREAT)
        # I expect the alert posted by the bot in #escalations
        alert = wait_for(lambda: [m for m in SLACK.messages if m.get("channel") == "C0ESCAL002"])
        assert not [m for m in SLACK.messages if m.get("channel") == "C0ALERTS01"]
        assert alert[0]["text"].startswith("Escalation (") and len(alert) == 1
        assert alert[0]["blocks"][0]["text"]["text"].startswith("Escalation:")

        # When Slack's answer comes back a second time with the same state (the Allow replayed)
        page.goto(SLACK.url + decide)
        # I expect a page saying the sign-in link was already used, and the connection as it was
        expect(page.get_by_role("heading", name="This Slack sign-in cannot be used")).to_be_visible()
        expect(page.locator("[data-oauth-error]")).to_contain_text("already used")
        page.get_by_role("link", name="Back to Integrations").click()
        expect(page.locator('[data-integration="slack"]').get_by_label("Alert channel")).to_have_value("C0ESCAL002")

        # When the Admin disconnects Slack
        page.once("dialog", lambda d: d.accept())
        page.locator('[data-integration="slack"]').get_by_role("button", name="Disconnect").click()
        # I expect the token revoked at Slack and the card not connected
        expect(page.locator('[data-integration="slack"]')).to_have_attribute("data-state", "not_connected")
        assert TOKEN in SLACK.revoked_tokens


def test_a_callback_slack_did_not_send_or_a_refused_code_is_a_page_and_stores_nothing(
    install_app: ThreadedServer, container: Container
) -> None:
    with httpx.Client(base_url=install_app.base_url, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Slack Refused Co")
        viewer = invite_and_join(client, admin, "viewer")
        callback = CALLBACK_PATH
        # a state we never issued
        answer = client.get(callback, params={"state": "forged", "code": "x"}, headers=admin.headers)
        assert answer.status_code == 400 and "text/html" in answer.headers["content-type"]
        assert "not one of ours" in answer.text and "Back to Integrations" in answer.text
        # no state at all
        answer = client.get(callback, params={"code": "x"}, headers=admin.headers)
        assert answer.status_code == 400 and "carried no state" in answer.text
        # a real state, but a code Slack will not exchange
        start = client.get("/api/integrations/slack/install", headers=admin.headers)
        assert start.status_code == 303 and start.headers["location"].startswith(SLACK.url + "/oauth/v2/authorize?")
        state = httpx.URL(start.headers["location"]).params["state"]
        answer = client.get(callback, params={"state": state, "code": "not-a-code"}, headers=admin.headers)
        assert answer.status_code == 409 and "invalid_code" in answer.text
        # a Viewer may not start an install
        refused = client.get("/api/integrations/slack/install", headers=viewer.headers)
        assert refused.status_code == 403 and "integrations.manage" in refused.text
        # nothing stored
        view = client.get("/api/integrations/", headers=admin.headers).json()
        assert view["slack"]["connected"] is False


def test_an_admin_connects_hubspot_sees_a_revoked_grant_as_disconnected_and_reconnects(
    install_app: ThreadedServer, browser: Any
) -> None:
    base = install_app.base_url
    with httpx.Client(base_url=base, timeout=20) as client:
        admin, _ = sign_up(client, workspace="HubSpot Connected Co")
    with signed_in(browser, base, admin.email, DESKTOP, TIMEOUT_MS) as page:
        try:
            page.goto("/app/integrations")
            hubspot = page.locator('[data-integration="hubspot"]')
            expect(hubspot).to_have_attribute("data-state", "not_connected")
            # When the Admin connects with HubSpot (HubSpot gives tokens that expire within the refresh margin)
            HUBSPOT.expires_in = 120
            hubspot.get_by_role("link", name="Connect with HubSpot").click()
            # I expect to be back, HubSpot connected by OAuth to the portal
            page.wait_for_url("**/app/integrations?hubspot=connected*")
            hubspot = page.locator('[data-integration="hubspot"]')
            expect(hubspot).to_have_attribute("data-state", "connected")
            expect(hubspot.locator("[data-tested]")).to_contain_text("installed in portal 62515")
            # When the app is then uninstalled in HubSpot (its refresh token revoked) and the Admin presses Test
            HUBSPOT.refresh_tokens.clear()
            hubspot.get_by_role("button", name="Test").click()
            # I expect the refresh refused, the card Disconnected with HubSpot's reason, and Reconnect offered
            hubspot = page.locator('[data-integration="hubspot"]')
            expect(hubspot).to_have_attribute("data-state", "disconnected")
            expect(hubspot.locator("[data-sentence]")).to_contain_text("BAD_REFRESH_TOKEN")
            # said once, by the card's sentence, not again under the buttons once the reloaded page has settled
            page.wait_for_load_state("load")
            expect(hubspot.locator("p", has_text="BAD_REFRESH_TOKEN")).to_have_count(1)
            # said once on the card (its sentence), not again under the buttons once the reloaded page has settled
            page.wait_for_load_state("load")
            expect(hubspot.locator("p", has_text="BAD_REFRESH_TOKEN")).to_have_count(1)
            look(page, "hubspot-disconnected")
            # When they press Reconnect
            HUBSPOT.expires_in = 1800
            hubspot.get_by_role("link", name="Reconnect").click()
            page.wait_for_url("**/app/integrations?hubspot=connected*")
            expect(page.locator('[data-integration="hubspot"]')).to_have_attribute("data-state", "connected")
        finally:
            HUBSPOT.expires_in = 1800


def test_connect_with_zendesk_over_http_uses_pkce_and_an_unknown_subdomain_is_a_page(
    install_app: ThreadedServer,
) -> None:
    with httpx.Client(base_url=install_app.base_url, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Zendesk Connected Co")
        # an account without an OAuth client: a page saying how to set one up
        refused = client.get("/api/integrations/zendesk/install", params={"subdomain": "globex"}, headers=admin.headers)
        assert refused.status_code == 422 and "CHATASSIST_ZENDESK_OAUTH_CLIENTS" in refused.text
        # the acme account: to Zendesk's consent page with an S256 challenge, back, connected by OAuth
        params = {"subdomain": "acme", "base_url": ZENDESK.url}
        start = client.get("/api/integrations/zendesk/install", params=params, headers=admin.headers)
        assert start.status_code == 303 and "code_challenge_method=S256" in start.headers["location"]
        back = httpx.get(start.headers["location"], follow_redirects=False).headers["location"]
        done = client.get(back.removeprefix(install_app.base_url), headers=admin.headers)
        assert done.status_code == 303 and done.headers["location"].startswith("/app/integrations?zendesk=connected")
        zendesk = client.get("/api/integrations/", headers=admin.headers).json()["zendesk"]
        assert zendesk["connected"] and zendesk["subdomain"] == "acme" and zendesk["ok"] is True


def test_an_admin_connects_zendesk_from_the_integrations_page_through_zendesks_consent(
    install_app: ThreadedServer, browser: Any
) -> None:
    base = install_app.base_url
    with httpx.Client(base_url=base, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Zendesk Browser Co")
    with signed_in(browser, base, admin.email, DESKTOP, TIMEOUT_MS) as page:
        # Given the Integrations screen, Zendesk not connected, its OAuth account offered
        page.goto("/app/integrations")
        zendesk = page.locator('[data-integration="zendesk"]')
        expect(zendesk).to_have_attribute("data-state", "not_connected")
        expect(zendesk.get_by_label("Zendesk account")).to_have_value("acme")
        # (acme's Zendesk is the local fake: as DNS would send acme.zendesk.com to Zendesk, the form also names the
        # fake as the account's host, the install's optional base_url, which its consent page and the code exchange
        # then use)
        zendesk.locator("form.oauth-connect").evaluate(HOST_FIELD, ZENDESK.url)
        # When the Admin clicks Connect with Zendesk (Zendesk's page allows it and sends them back)
        zendesk.get_by_role("button", name="Connect with Zendesk").click()
        # I expect to be back on Integrations, Zendesk connected by OAuth with PKCE, Reconnect offered
        page.wait_for_url("**/app/integrations?zendesk=connected*")
        zendesk = page.locator('[data-integration="zendesk"]')
        expect(zendesk).to_have_attribute("data-state", "connected")
        expect(zendesk.locator("[data-sentence]")).to_contain_text("Connected")
        expect(zendesk.get_by_role("button", name="Reconnect with Zendesk")).to_be_visible()
        authorize = [r.path for r in ZENDESK.requests if r.path.startswith("/oauth/authorizations/new")]
        assert authorize and "code_challenge_method=S256" in authorize[-1]
        look(page, "zendesk-connected")
    with httpx.Client(base_url=base, timeout=20) as client:
        stored = client.get("/api/integrations/", headers=admin.headers).json()["zendesk"]
    assert stored["connected"] and stored["subdomain"] == "acme" and stored["ok"] is True
