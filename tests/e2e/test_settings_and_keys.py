"""Settings and provider keys, end to end over the real server, PostgreSQL and the fake providers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest

from chatassist.bootstrap import Container, build_providers
from chatassist.cli import ready_checks
from chatassist.settings import Settings
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from commands.provider_keys.vault import KeyVault
from commands.rotate_provider_keys import cmd as rotate
from domain.app_settings import app_settings_id
from domain.provider_keys import keyring_id
from tests.conftest import chat, generous_limits, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.server import ThreadedServer
from web.app import create_app

KEYS_SPEC = generate_key_spec("k1")
ANTHROPIC_KEY = "sk-ant-api03-" + uuid.uuid4().hex + uuid.uuid4().hex + "7f3a"
OPENAI_KEY = "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex + "9c2d"
SECRETS = (ANTHROPIC_KEY, OPENAI_KEY, ANTHROPIC_KEY[7:-4], OPENAI_KEY[8:-4])


def sent_key(headers: dict[str, str]) -> str | None:
    """The API key a recorded request carried (the anthropic SDK sends ``x-api-key`` or a bearer token)."""
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ") or None


@pytest.fixture(scope="module")
def keys_client(container: Container, settings: Settings) -> Iterator[httpx.Client]:
    """The real app with a keys encryption key configured and both environment keys (faked)."""
    providers = build_providers(replace(settings, keys_encryption_key=KEYS_SPEC), container.app)
    service = ChatService(container.app, providers, container.usage, RetryPolicy(base_delay_s=0.01), cache_ttl_s=0)
    assert container.auth is not None
    app = create_app(
        service,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
    )
    server = ThreadedServer(app).start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client
    server.stop()


class Team:
    """A workspace with an admin, an agent and a viewer, and another workspace's admin."""

    def __init__(self, client: httpx.Client) -> None:
        self.admin, body = sign_up(client, workspace="Settings A")
        self.widget_key: str = body["widget_key"]
        self.agent = invite_and_join(client, self.admin, "agent")
        self.viewer = invite_and_join(client, self.admin, "viewer")
        self.other, other_body = sign_up(client, workspace="Settings B")
        self.other_widget_key: str = other_body["widget_key"]

    @property
    def workspace_id(self) -> uuid.UUID:
        return uuid.UUID(self.admin.workspace_id)


@pytest.fixture
def team(keys_client: httpx.Client) -> Team:
    return Team(keys_client)


def last_event(container: Container) -> int | None:
    return container.app.recorder.max_notification_id()


def refused(container: Container, call: Callable[[], httpx.Response], status: int, code: str) -> dict[str, Any]:
    """A request refused with ``status`` and ``code``, a sentence, and no event written."""
    before = last_event(container)
    response = call()
    body = response.json()
    assert (response.status_code, body.get("code")) == (status, code), response.text
    assert isinstance(body.get("message"), str) and body["message"].endswith((".", ")")), body
    assert last_event(container) == before, "a refused request wrote an event"
    return body


# --- settings -----------------------------------------------------------------------------------------------


def test_every_member_reads_the_settings_with_defaults_and_storage_used(
    keys_client: httpx.Client, team: Team, container: Container
) -> None:
    for member in (team.admin, team.agent, team.viewer):
        response = keys_client.get("/api/settings", headers=member.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["widget_language"] == "en" and body["time_zone"] == "UTC" and body["show_ai_badge"] is True
        assert body["business_hours"]["mon"] == ["09:00", "17:00"] and body["business_hours"]["sun"] is None
        assert body["primary_model"] == "claude-sonnet-4-6" and body["max_history_turns"] == 10
        assert body["storage_used_bytes"] > 0  # the workspace's own events
    # a chat turn adds the conversation's events to the storage used
    before = keys_client.get("/api/settings", headers=team.admin.headers).json()["storage_used_bytes"]
    chat(keys_client, team.widget_key, "How do I reset my password?")
    container.wait_for_projections()
    after = keys_client.get("/api/settings", headers=team.admin.headers).json()["storage_used_bytes"]
    assert after > before
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(
            "SELECT sum(octet_length(state)) FROM chatassist_events WHERE originator_id = %s", (team.workspace_id,)
        ).fetchone()
    assert row is not None and after > row[0]
    refused(container, lambda: keys_client.get("/api/settings"), 401, "missing_credentials")


def test_an_admin_changes_app_and_chat_settings_in_one_request_each_an_event_with_its_actor(
    keys_client: httpx.Client, team: Team, container: Container
) -> None:
    hours = {"mon": ["08:30", "18:00"], "tue": ["08:30", "18:00"], "wed": None, "thu": ["08:30", "18:00"]}
    hours |= {"fri": ["08:30", "16:00"], "sat": None, "sun": None}
    changes = {
        "widget_language": "fr",
        "widget_theme_colour": "#0a7f3a",
        "business_hours": hours,
        "time_zone": "Europe/Paris",
        "analytics_retention_days": 90,
        "show_ai_badge": False,
        "collect_csat": False,
        "after_hours_auto_response": True,
        "after_hours_message": "Nous revenons demain à 8h30.",
        "primary_model": "claude-haiku-4-5",
        "fallback_model": "gpt-4o",
        "max_history_turns": 4,
        "max_response_tokens": 512,
        "monthly_token_budget": 5000,
    }
    response = keys_client.patch("/api/settings", json=changes, headers=team.admin.headers)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in changes} == changes
    assert {k: keys_client.get("/api/settings", headers=team.viewer.headers).json()[k] for k in changes} == changes
    # the values are events, naming the actor
    app_events = stored_events(container, app_settings_id(team.workspace_id))
    assert [type(e).__name__ for e in app_events] == ["Created", "Changed", "ChatSettingsChanged"]
    assert all(str(e.by) == team.admin.account_id for e in app_events[1:])
    assert app_events[1].changes["time_zone"] == "Europe/Paris"
    assert app_events[2].changes == {
        "primary_model": "claude-haiku-4-5",
        "fallback_model": "gpt-4o",
        "max_history_turns": 4,
        "max_response_tokens": 512,
        "monthly_token_budget": 5000,
    }
    ws_events = stored_events(container, team.workspace_id)
    assert type(ws_events[-1]).__name__ == "SettingsChanged" and ws_events[-1].changes["max_history_turns"] == 4
    # the same values again record nothing
    before = last_event(container)
    again = keys_client.patch("/api/settings", json={"widget_language": "fr"}, headers=team.admin.headers)
    assert again.status_code == 200 and last_event(container) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"primary_model": "llama-3-70b"}, "unknown_model"),
        ({"fallback_model": "claude-haiku-4-5", "budget_model": "mistral-large"}, "unknown_model"),
        ({"max_history_turns": 51}, "out_of_range"),
        ({"max_response_tokens": 0}, "out_of_range"),
        ({"analytics_retention_days": 10}, "out_of_range"),
        ({"over_budget": "explode"}, "invalid_input"),
        ({"widget_theme_colour": "red"}, "invalid_colour"),
        ({"time_zone": "Europe/Atlantis"}, "invalid_time_zone"),
        ({"after_hours_message": "x" * 1001}, "text_too_long"),
        ({"business_hours": {"mon": ["18:00", "09:00"]}}, "invalid_business_hours"),
        ({"widget_language": "de", "no_such_setting": 1}, "unknown_setting"),
        ({"system_prompt": "You are a pirate."}, "unknown_setting"),
        ({"storage_used_bytes": 0}, "unknown_setting"),
        ({}, "no_changes"),
    ],
)
def test_a_bad_setting_is_refused_and_nothing_is_written_not_even_the_valid_ones(
    keys_client: httpx.Client, team: Team, container: Container, body: dict[str, Any], code: str
) -> None:
    mixed = {"widget_language": "de", "max_history_turns": 3, **body} if body else body
    refused(container, lambda: keys_client.patch("/api/settings", json=mixed, headers=team.admin.headers), 422, code)
    now = keys_client.get("/api/settings", headers=team.admin.headers).json()
    assert now["widget_language"] == "en" and now["max_history_turns"] == 10


def test_only_admins_change_settings(keys_client: httpx.Client, team: Team, container: Container) -> None:
    for member in (team.agent, team.viewer):
        refused(
            container,
            lambda m=member: keys_client.patch("/api/settings", json={"widget_language": "de"}, headers=m.headers),
            403,
            "permission_denied",
        )
    refused(
        container,
        lambda: keys_client.patch("/api/settings", json={"widget_language": "de"}),
        401,
        "missing_credentials",
    )
    # another workspace's admin changes its own workspace only
    done = keys_client.patch("/api/settings", json={"widget_language": "de"}, headers=team.other.headers)
    assert done.status_code == 200
    assert keys_client.get("/api/settings", headers=team.viewer.headers).json()["widget_language"] == "en"
    not_object = keys_client.patch("/api/settings", json=["widget_language"], headers=team.admin.headers)
    assert not_object.status_code == 400 and not_object.json()["code"] == "invalid_request"


# --- provider keys ------------------------------------------------------------------------------------------


def put_key(client: httpx.Client, member: Person, provider: str, key: str) -> httpx.Response:
    return client.put(f"/api/settings/keys/{provider}", json={"api_key": key}, headers=member.headers)


def test_keys_are_stored_encrypted_shown_masked_tested_and_removed(
    keys_client: httpx.Client,
    team: Team,
    container: Container,
    fake_llm: FakeLLMServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []

    def call(response: httpx.Response) -> httpx.Response:
        bodies.append(response.text)
        return response

    # Given no key of its own: the environment keys serve the workspace
    listed = call(keys_client.get("/api/settings/keys", headers=team.admin.headers)).json()
    assert listed["storage_configured"] is True
    assert listed["keys"]["anthropic"] == {
        "provider": "anthropic",
        "configured": True,
        "source": "environment",
        "masked": None,
        "status": "environment",
        "last_tested": None,
        "detail": None,
    }
    # When the admin stores an Anthropic and an OpenAI key
    stored = call(put_key(keys_client, team.admin, "anthropic", ANTHROPIC_KEY))
    assert stored.status_code == 200, stored.text
    assert stored.json()["masked"] == "sk-ant-…7f3a" and stored.json()["source"] == "workspace"
    assert stored.json()["status"] == "untested"
    assert call(put_key(keys_client, team.admin, "openai", OPENAI_KEY)).json()["masked"] == "sk-…9c2d"
    events = stored_events(container, keyring_id(team.workspace_id))
    assert [type(e).__name__ for e in events] == ["Created", "KeySet", "KeySet"]
    assert events[1].key_id == "k1" and events[1].last4 == "7f3a" and str(events[1].by) == team.admin.account_id
    # and tests them: the fake accepts the Anthropic key and rejects the OpenAI one
    fake_llm.enqueue("openai", Script(kind="status", status=401))
    ok = call(keys_client.post("/api/settings/keys/anthropic/test", headers=team.admin.headers))
    assert ok.status_code == 200 and ok.json() == {
        "provider": "anthropic",
        "ok": True,
        "detail": "anthropic accepted the key.",
    }
    bad = call(keys_client.post("/api/settings/keys/openai/test", headers=team.admin.headers))
    assert bad.status_code == 200 and bad.json()["ok"] is False and "401" in bad.json()["detail"]
    models_calls = [r for r in fake_llm.requests if r.path == "/v1/models"]
    assert [sent_key(r.headers) for r in models_calls] == [ANTHROPIC_KEY, OPENAI_KEY]
    listed = call(keys_client.get("/api/settings/keys", headers=team.admin.headers)).json()["keys"]
    assert listed["anthropic"]["status"] == "ok" and listed["anthropic"]["last_tested"]
    assert listed["openai"]["status"] == "failed" and listed["openai"]["masked"] == "sk-…9c2d"
    tested = stored_events(container, keyring_id(team.workspace_id))[-2:]
    assert [(type(e).__name__, e.provider, e.ok) for e in tested] == [
        ("KeyTested", "anthropic", True),
        ("KeyTested", "openai", False),
    ]
    # When the admin removes the OpenAI key, the environment key serves again
    removed = call(keys_client.delete("/api/settings/keys/openai", headers=team.admin.headers))
    assert removed.status_code == 204
    listed = call(keys_client.get("/api/settings/keys", headers=team.admin.headers)).json()["keys"]
    assert listed["openai"]["source"] == "environment"
    # I expect the plaintext nowhere: not in a response, a log line or the raw event table
    for secret in SECRETS:
        assert not any(secret in body for body in bodies)
        assert secret not in caplog.text
    with psycopg.connect(container.database_url) as conn:
        states = [bytes(r[0]) for r in conn.execute("SELECT state FROM chatassist_events").fetchall()]
    for secret in SECRETS:
        assert not any(secret.encode() in s for s in states)


def test_bad_key_requests_are_refused_and_write_nothing(
    keys_client: httpx.Client, team: Team, container: Container
) -> None:
    admin = team.admin
    refused(container, lambda: put_key(keys_client, admin, "anthropic", "sk-" + "x" * 40), 422, "invalid_api_key")
    refused(container, lambda: put_key(keys_client, admin, "openai", ANTHROPIC_KEY), 422, "invalid_api_key")
    refused(container, lambda: put_key(keys_client, admin, "mistral", OPENAI_KEY), 404, "unknown_provider")
    refused(
        container,
        lambda: keys_client.put("/api/settings/keys/openai", json={"key": OPENAI_KEY}, headers=admin.headers),
        400,
        "invalid_request",
    )
    refused(
        container, lambda: keys_client.delete("/api/settings/keys/openai", headers=admin.headers), 404, "key_not_found"
    )
    refused(
        container,
        lambda: keys_client.post("/api/settings/keys/openai/test", headers=admin.headers),
        404,
        "key_not_found",
    )
    for member in (team.agent, team.viewer):
        refused(container, lambda m=member: put_key(keys_client, m, "openai", OPENAI_KEY), 403, "permission_denied")
        refused(
            container,
            lambda m=member: keys_client.get("/api/settings/keys", headers=m.headers),
            403,
            "permission_denied",
        )
    refused(container, lambda: keys_client.get("/api/settings/keys"), 401, "missing_credentials")
    # another workspace's admin cannot see or remove this workspace's key
    assert put_key(keys_client, admin, "openai", OPENAI_KEY).status_code == 200
    other = keys_client.get("/api/settings/keys", headers=team.other.headers).json()["keys"]["openai"]
    assert other["source"] == "environment"
    refused(
        container,
        lambda: keys_client.delete("/api/settings/keys/openai", headers=team.other.headers),
        404,
        "key_not_found",
    )


def test_without_a_keys_encryption_key_the_server_refuses_to_store_keys(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client)
    body = refused(
        container, lambda: put_key(client, admin, "anthropic", ANTHROPIC_KEY), 422, "keys_encryption_not_configured"
    )
    assert ANTHROPIC_KEY not in str(body)
    assert client.get("/api/settings/keys", headers=admin.headers).json()["storage_configured"] is False


def test_a_turn_uses_the_workspaces_own_key_and_other_workspaces_the_environment_key(
    keys_client: httpx.Client, team: Team, fake_llm: FakeLLMServer
) -> None:
    # Given workspace A with its own Anthropic key and workspace B without
    assert put_key(keys_client, team.admin, "anthropic", ANTHROPIC_KEY).status_code == 200
    # When a visitor of each chats
    events_a = chat(keys_client, team.widget_key, "How do I reset my password?")
    events_b = chat(keys_client, team.other_widget_key, "How do I reset my password?")
    # I expect A's turn to send A's key and B's turn the environment key
    assert events_a[-1][0] == "done" and events_b[-1][0] == "done"
    sent = [sent_key(r.headers) for r in fake_llm.requests_for("anthropic") if r.path == "/v1/messages"]
    assert sent == [ANTHROPIC_KEY, "test-anthropic-key"]
    # When A removes its key, A's next turn uses the environment key again
    assert keys_client.delete("/api/settings/keys/anthropic", headers=team.admin.headers).status_code == 204
    chat(keys_client, team.widget_key, "And my invoices?")
    assert sent_key(fake_llm.requests_for("anthropic")[-1].headers) == "test-anthropic-key"


def test_rotation_re_encrypts_every_key_with_the_current_key_id(
    keys_client: httpx.Client, team: Team, container: Container
) -> None:
    assert put_key(keys_client, team.admin, "anthropic", ANTHROPIC_KEY).status_code == 200
    new_spec = generate_key_spec("k2")
    vault = KeyVault(container.app, KeyCipher(f"{new_spec},{KEYS_SPEC}"))
    done = rotate.execute(vault, [keyring_id(team.workspace_id), keyring_id(uuid.uuid4())])
    assert (done.reencrypted, done.current) == (1, 0)
    last = stored_events(container, keyring_id(team.workspace_id))[-1]
    assert type(last).__name__ == "KeySet" and last.key_id == "k2" and last.last4 == "7f3a"
    # only the new key is needed from now on
    fresh = KeyVault(container.app, KeyCipher(new_spec))
    assert fresh.own_keys(team.workspace_id)["anthropic"].plaintext == ANTHROPIC_KEY
    assert rotate.execute(vault, [keyring_id(team.workspace_id)]) == rotate.Rotated(0, 1)
