"""Slack's OAuth v2 install on the real PostgreSQL, with slack-sdk pointed at a local Slack that speaks the consent
redirect and ``oauth.v2.access``: the state is bound to the Admin and workspace, used once, expiring; a refused,
cancelled or narrower install stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from psycopg_pool import ConnectionPool

from chatassist.bootstrap import Container
from commands.integrations import slack as slack_cmd
from commands.integrations import slack_channels, slack_oauth
from commands.integrations.oauth_state import OAuthStateRefused, PostgresOAuthStateStore
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.errors import InvalidInput
from domain.integrations import integrations_id
from tests.fakes.receivers import FakeSlack
from tests.support import oauth
from tests.support.oauth import PUBLIC_URL, integrations_of, new_workspace, running, state_pool

KEYS = generate_key_spec("o1")
TOKEN = "xoxb-oauth-installed-token-7q2w"
ADMIN, OTHER = uuid.uuid4(), uuid.uuid4()


CALLBACK = PUBLIC_URL + slack_oauth.CALLBACK_PATH


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with running(FakeSlack(TOKEN)) as fake:
        yield fake


@pytest.fixture(scope="module")
def pool(container: Container) -> Iterator[ConnectionPool]:
    with state_pool(container) as p:
        yield p


def app_of(slack: FakeSlack) -> slack_oauth.SlackApp:
    return slack_oauth.SlackApp(*slack.client, CALLBACK, slack.url + "/oauth/v2/authorize")


def ctx(container: Container, slack: FakeSlack) -> Context:
    return Context(container.app, KeyCipher(KEYS), slack_api_url=slack.url + "/api/", timeout_s=5)


def consent(url: str) -> dict[str, str]:
    """The Admin's browser on Slack's consent page: where Slack sends it back, and with what."""
    return oauth.consent(url, CALLBACK)


def workspace(container: Container) -> UUID:
    return new_workspace(container, "OAuth")


def slack_of(container: Container, ws: UUID) -> object:
    found = integrations_of(container, ws)
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
    connection = integrations_of(container, ws)
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


def test_states_expired_for_a_day_are_forgotten_when_a_new_flow_starts(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    # Given a flow whose state expired two days ago and one that expired a minute ago
    ws = workspace(container)
    old = PostgresOAuthStateStore(pool, "slack", ttl=-timedelta(days=2)).issue(workspace_id=ws, account_id=ADMIN)
    recent = PostgresOAuthStateStore(pool, "slack", ttl=-timedelta(minutes=1)).issue(workspace_id=ws, account_id=ADMIN)
    # When an Admin starts a new install
    slack_oauth.start(app_of(slack), PostgresOAuthStateStore(pool, "slack"), ws, ADMIN)
    # I expect the day-old state gone (with its verifier), the recent one kept until it is a day old
    with pool.connection() as conn:
        kept = {r[0] for r in conn.execute("SELECT state FROM oauth_states WHERE state IN (%s, %s)", (old, recent))}
    assert kept == {recent}


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


def installed(container: Container, slack: FakeSlack, pool: ConnectionPool) -> UUID:
    """A workspace whose Admin went through Add to Slack."""
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "slack")
    back = consent(slack_oauth.start(app_of(slack), states, ws, ADMIN))
    slack_oauth.complete(ctx(container, slack), app_of(slack), states, ws, ADMIN, back["state"], back["code"])
    return ws


def test_the_channel_picker_lists_the_bots_channels_page_by_page_and_saves_the_pick(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    # Given an installed Slack whose workspace has more channels than one conversations.list page holds
    ws = installed(container, slack, pool)
    extra = [{"id": f"C0MORE{i:04d}", "name": f"team-{i:04d}", "is_private": False, "is_member": i % 2 == 0}
             for i in range(slack_channels.PAGE + 5)]  # fmt: skip
    slack.channels.extend(extra)
    try:
        # When the Admin opens the picker
        listed = slack_channels.channels(ctx(container, slack), ws)
    finally:
        del slack.channels[-len(extra) :]
    # I expect every channel the bot is a member of (over two pages), by name, and none it is not in
    ids = [c.id for c in listed]
    assert {"C0ALERTS01", "C0ESCAL002", "G0LEADS003"} <= set(ids) and "C0RANDOM04" not in ids
    assert len(ids) == 3 + len([e for e in extra if e["is_member"]])
    assert [c.name for c in listed] == sorted(c.name for c in listed)
    assert next(c for c in listed if c.id == "G0LEADS003").private
    pages = [r for r in slack.requests if r.path.startswith("/api/conversations.list")]
    assert len(pages) >= 2
    # When they pick #escalations
    picked = slack_channels.choose(ctx(container, slack), ws, "C0ESCAL002", ADMIN)
    # I expect it saved as the channel alerts go to
    assert picked.name == "escalations"
    found = integrations_of(container, ws)
    assert found is not None and found.slack is not None and found.slack.channel == "C0ESCAL002"
    # and a channel the bot is not in refused, the pick unchanged
    with pytest.raises(InvalidInput, match="listed channels") as refused:
        slack_channels.choose(ctx(container, slack), ws, "C0RANDOM04", ADMIN)
    assert refused.value.code == "invalid_channel"
    found = integrations_of(container, ws)
    assert found is not None and found.slack is not None and found.slack.channel == "C0ESCAL002"


def test_disconnect_revokes_the_bot_token_at_slack_and_records_it(
    container: Container, slack: FakeSlack, pool: ConnectionPool
) -> None:
    ws = installed(container, slack, pool)
    try:
        # When the Admin disconnects Slack
        slack_cmd.disconnect(ctx(container, slack), ws, ADMIN)
        # I expect auth.revoke called with the bot token, the token dead at Slack, the connection gone
        assert TOKEN in slack.revoked_tokens
        assert [r.path for r in slack.requests if r.path.startswith("/api/auth.revoke")]
        assert slack_of(container, ws) is None
        # and the revocation recorded as an event, before the disconnection
        stored = list(container.app.repository.event_store.get(integrations_id(ws)))
        names = [type(e).__name__ for e in stored]
        assert names[-2:] == ["GrantRevoked", "SlackDisconnected"]
        assert (stored[-2].system, stored[-2].revoked) == ("slack", True)  # type: ignore[attr-defined]
        # When a second workspace on the same (now revoked) token disconnects, Slack refuses: still disconnected,
        # and the refusal recorded
        other = installed(container, slack, pool)
        slack_cmd.disconnect(ctx(container, slack), other, ADMIN)
        last = list(container.app.repository.event_store.get(integrations_id(other)))[-2]
        assert not last.revoked and "token_revoked" in last.detail  # type: ignore[attr-defined]
        assert slack_of(container, other) is None
    finally:
        slack.revoked_tokens.clear()
