"""Slack's OAuth v2 install on the real PostgreSQL, with slack-sdk pointed at a local Slack that speaks the consent
redirect and ``oauth.v2.access``: the state is bound to the Admin and workspace, used once, expiring; a refused,
cancelled or narrower install stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
import pytest
from psycopg_pool import ConnectionPool

from chatassist.bootstrap import Container
from commands._lazy import get_or_none
from commands.create_workspace import cmd as create_ws
from commands.integrations import slack_oauth
from commands.integrations.oauth_state import OAuthStateRefused, PostgresOAuthStateStore
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.integrations import Integrations, integrations_id
from tests.fakes.receivers import FakeSlack

KEYS = generate_key_spec("o1")
TOKEN = "xoxb-oauth-installed-token-7q2w"
ADMIN, OTHER = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def pool(container: Container) -> Iterator[ConnectionPool]:
    with ConnectionPool(container.database_url, min_size=1, max_size=2, open=True) as p:
        yield p


def app_of(slack: FakeSlack) -> slack_oauth.SlackApp:
    return slack_oauth.SlackApp(*slack.client, "https://chat.acme.test/api/integrations/slack/oauth/callback",
                                slack.url + "/oauth/v2/authorize")  # fmt: skip


def ctx(container: Container, slack: FakeSlack) -> Context:
    return Context(container.app, KeyCipher(KEYS), slack_api_url=slack.url + "/api/", timeout_s=5)


def consent(url: str) -> dict[str, str]:
    """The Admin's browser on Slack's consent page: where Slack sends it back, and with what."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert (
        back.scheme + "://" + back.netloc + back.path == "https://chat.acme.test/api/integrations/slack/oauth/callback"
    )
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def workspace(container: Container) -> UUID:
    return create_ws.execute(container.app, create_ws.CreateWorkspace(f"OAuth {uuid.uuid4().hex[:6]}")).workspace_id


def slack_of(container: Container, ws: UUID) -> object:
    found = get_or_none(container.app, integrations_id(ws), Integrations)
    return found.slack if found is not None else None


def test_add_to_slack_stores_the_bot_token_and_the_channel_picked_on_slacks_page(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    # Given an Admin who clicks Add to Slack
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "slack")
    url = slack_oauth.start(app_of(slack), states, ws, ADMIN)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(slack.url + "/oauth/v2/authorize?")
    assert query["client_id"] == [slack.client[0]] and query["scope"] == ["chat:write,channels:read,incoming-webhook"]
    # When they allow it on Slack's page and come back
    back = consent(url)
    channel = slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], back["code"])
    # I expect the bot token stored (encrypted, its last four shown) for the channel they chose, tested
    assert channel == "C0ALERTS01"
    connection = get_or_none(container.app, integrations_id(ws), Integrations)
    assert connection is not None and connection.slack is not None
    assert (connection.slack.mode, connection.slack.channel, connection.slack.secret.last4) == ("bot", "C0ALERTS01",
                                                                                                TOKEN[-4:])  # fmt: skip
    assert TOKEN not in connection.slack.secret.ciphertext
    assert connection.checks["slack"].ok and "Acme Support" in connection.checks["slack"].detail
    # When the same callback comes again (a reload, or a replay)
    with pytest.raises(OAuthStateRefused, match="already used"):
        slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], back["code"])
    assert slack.installs == 1


def test_a_foreign_missing_or_expired_state_stores_nothing(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "slack")
    # a state another Admin started, brought back by this one
    back = consent(slack_oauth.start(app_of(slack), states, ws, OTHER))
    with pytest.raises(OAuthStateRefused, match="another person"):
        slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], back["code"])
    # none at all
    with pytest.raises(OAuthStateRefused, match="no state"):
        slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, None, "code")
    # one that expired
    stale = PostgresOAuthStateStore(pool, "slack", ttl=timedelta(seconds=-1))
    back = consent(slack_oauth.start(app_of(slack), stale, ws, ADMIN))
    with pytest.raises(OAuthStateRefused, match="expired"):
        slack_oauth.complete(ctx(container, slack), app_of(slack), stale, ws, ADMIN, back["state"], back["code"])
    assert slack_of(container, ws) is None


def test_a_cancelled_refused_or_narrower_install_stores_nothing(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "slack")
    # the Admin presses Cancel on Slack's page
    slack.consent = "access_denied"
    try:
        back = consent(slack_oauth.start(app_of(slack), states, ws, ADMIN))
    finally:
        slack.consent = "allow"
    assert back["error"] == "access_denied"
    with pytest.raises(slack_oauth.OAuthRefused, match="cancelled"):
        slack_oauth.complete(
            ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], None, "access_denied"
        )
    # Slack refuses the code (not one it issued)
    back = consent(slack_oauth.start(app_of(slack), states, ws, ADMIN))
    with pytest.raises(slack_oauth.OAuthRefused, match="invalid_code"):
        slack_oauth.complete(
            ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], "not-" + back["code"]
        )
    # Slack grants fewer scopes than asked
    slack.granted = "chat:write"
    try:
        back = consent(slack_oauth.start(app_of(slack), states, ws, ADMIN))
        with pytest.raises(slack_oauth.OAuthRefused, match="missing channels:read, incoming-webhook"):
            slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], back["code"])
    finally:
        slack.granted = "chat:write,channels:read,incoming-webhook"
    assert slack_of(container, ws) is None
