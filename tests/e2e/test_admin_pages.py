"""The admin screens over HTTP (API keys and models, integrations and webhooks, settings): who may open them, what
they show, and the settings they put into effect (the model decided in one place, the fallback and retry
switches, the end of the trial). The browser journey is tests/e2e/test_admin_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from chatassist.bootstrap import Container
from commands._common import update
from commands.change_plan import cmd as change_plan
from commands.publish_prompt import cmd as publish
from commands.save_prompt_draft import cmd as save_draft
from domain.workspace import Workspace
from tests.conftest import chat
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import invite_and_join, sign_up


def signed_in(client: httpx.Client, token: str) -> httpx.Client:
    return httpx.Client(base_url=str(client.base_url), cookies={"ca_session": token}, timeout=20)


def test_an_admin_opens_the_three_admin_screens_and_others_are_refused(client: httpx.Client) -> None:
    # Given a workspace's admin, an agent and a viewer
    admin, _ = sign_up(client, workspace="Admin Screens Co")
    agent = invite_and_join(client, admin, "agent")
    viewer = invite_and_join(client, admin, "viewer")
    with signed_in(client, admin.access_token) as browser:
        # When the admin opens API & models, Integrations and Settings
        models = browser.get("/app/models")
        integrations = browser.get("/app/integrations")
        settings = browser.get("/app/settings")
        storage = browser.get("/app/settings/storage")
    # I expect each page with the product's labels, and the menu linking to them
    assert models.status_code == 200, models.text
    for words in ("API configuration &amp; model settings", "Anthropic Claude API — Primary", "OpenAI API — Fallback",
                  "Monthly token budget", "Enable OpenAI fallback on a primary API error",
                  "Auto-retry with exponential backoff (3 attempts)", 'class="gauge'):  # fmt: skip
        assert words in models.text, words
    assert re.search(r'<option value="claude-sonnet-4-5"[^>]*>claude-sonnet-4-5 .*end of life November 30th, 2026',
                     models.text)  # fmt: skip
    assert integrations.status_code == 200, integrations.text
    for words in ("Third-party integrations", "Slack", "Zendesk", "HubSpot", "Intercom", "Not connected",
                  "Outbound webhooks", "Delivery log", "Dead letters", "message.created"):  # fmt: skip
        assert words in integrations.text, words
    assert settings.status_code == 200, settings.text
    for words in ("General", "AI behaviour", "Notifications", "Billing", "Widget language", "Chat widget theme",
                  "Business hours", "AI primary model", "Analytics data retention (days)",
                  "Max chat history sent to AI (turns)", "Show AI-powered badge in chat widget",
                  "Collect post-chat CSAT ratings (1-5 stars)", "Enable after-hours auto-response message",
                  "Storage used — conversation logs", "Free trial", "14 days left", "3 / 20",
                  "This setting decides the model of every chat turn"):  # fmt: skip
        assert words in settings.text, words
    # and the storage, loaded after the page, as a share of the trial plan's 1 GB
    assert storage.status_code == 200 and re.search(r"[\d.]+ KB of the Free trial plan's 1\.0 GB", storage.text), (
        storage.text
    )
    for label in ("Integrations", "API &amp; models", "Settings"):
        assert f">{label}</a>" in models.text, label
    # and a viewer sees none of them in the menu and gets the refusal page on each
    with signed_in(client, viewer.access_token) as browser:
        overview = browser.get("/app")
        assert ">Settings</a>" not in overview.text and ">Integrations</a>" not in overview.text
        for path, permission in (("/app/models", "keys.manage"), ("/app/integrations", "integrations.manage"),
                                 ("/app/settings", "settings.manage")):  # fmt: skip
            refused = browser.get(path)
            assert refused.status_code == 403 and permission in refused.text, path
    # and an agent is refused the settings page too (settings are an admin's)
    with signed_in(client, agent.access_token) as browser:
        assert browser.get("/app/settings").status_code == 403


def test_the_settings_model_decides_even_with_a_published_prompt_version(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a workspace whose published prompt version names claude-sonnet-4-6 in its persona
    admin, body = sign_up(client, workspace="One Model Co")
    ws = UUID(admin.workspace_id)
    by = UUID(admin.account_id)
    draft = save_draft.execute(container.app, save_draft.SavePromptDraft(ws, by, {"system_prompt": "Be brief."}))
    publish.execute(container.app, publish.PublishPrompt(ws, by, draft.draft_id, "v2"))
    # When the admin chooses claude-haiku-4-5 in the settings
    changed = client.patch("/api/settings", json={"primary_model": "claude-haiku-4-5"}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    events = chat(client, body["widget_key"], "How do I reset my password?")
    # I expect the turn answered by the settings' model, not the version's
    done = dict(events)["done"]
    assert done["model"] == "claude-haiku-4-5", done
    assert fake_llm.requests_for("anthropic")[-1].json["model"] == "claude-haiku-4-5"
    # and the settings page says this setting decides, naming the live version that does not override it
    with signed_in(client, admin.access_token) as browser:
        page = browser.get("/app/settings").text
    assert "the live prompt version 2 does not override it" in page


def test_the_fallback_switch_off_tries_the_primary_only(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a workspace whose admin switched the fallback and the retries off
    admin, body = sign_up(client, workspace="No Fallback Co")
    changed = client.patch(
        "/api/settings", json={"fallback_enabled": False, "retry_enabled": False}, headers=admin.headers
    )
    assert changed.status_code == 200 and changed.json()["fallback_enabled"] is False, changed.text
    # When Anthropic fails with a server error
    fake_llm.set_default("anthropic", Script(kind="status", status=500))
    events = chat(client, body["widget_key"], "Hello?")
    # I expect one call to Anthropic only: no retry, no OpenAI fallback, and the turn's error
    assert len(fake_llm.requests_for("anthropic")) == 1 and not fake_llm.requests_for("openai")
    assert "error" in dict(events), events
    # and a bad switch value is refused with a sentence naming it
    bad = client.patch("/api/settings", json={"retry_enabled": "yes"}, headers=admin.headers)
    assert bad.status_code == 422 and "retry_enabled" in bad.json()["message"]


def test_an_ended_trial_answers_offline_until_the_operator_changes_the_plan(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a trial workspace whose trial ended yesterday
    admin, body = sign_up(client, workspace="Trial Over Co")
    ws = UUID(admin.workspace_id)

    def end_trial(workspace: Workspace) -> None:
        workspace._plan_started(plan="trial", trial_ends_at=datetime.now(UTC) - timedelta(days=1))

    update(container.app, ws, Workspace, "workspace", end_trial)
    # When a visitor chats
    events = chat(client, body["widget_key"], "How do I reset my password?")
    # I expect the offline answerer: no model called, nothing spent
    assert dict(events)["done"]["offline"] is True and not fake_llm.requests_for("anthropic")
    with signed_in(client, admin.access_token) as browser:
        page = browser.get("/app/settings").text
    assert "The free trial ended" in page and ">Ended<" in page
    # When the operator moves the workspace to the self-hosted plan
    assert change_plan.execute(container.app, change_plan.ChangePlan(ws, "self_hosted")) == "self_hosted"
    with pytest.raises(Exception, match="plan must be one of"):
        change_plan.execute(container.app, change_plan.ChangePlan(ws, "platinum"))
    events = chat(client, body["widget_key"], "How do I reset my password?")
    # I expect the AI models to answer again
    assert dict(events)["done"]["offline"] is False and fake_llm.requests_for("anthropic")
