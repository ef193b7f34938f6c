"""HubSpot's OAuth install on the real PostgreSQL, with hubspot-api-client pointed at a local HubSpot that speaks
the consent redirect, ``POST /oauth/v1/token`` (authorization_code and refresh_token),
``GET /oauth/v1/access-tokens/:token`` and ``DELETE /oauth/v1/refresh-tokens/:token``: the tokens are sealed, the
access token is refreshed (once, whoever asks at the same time) when it is about to expire, a refused refresh shows
as Disconnected with HubSpot's reason, and Disconnect revokes the grant."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from psycopg_pool import ConnectionPool

from chatassist.bootstrap import Container
from commands.create_workspace import cmd as create_ws
from commands.integrations import hubspot as hubspot_cmd
from commands.integrations import hubspot_oauth
from commands.integrations.oauth_apps import HubSpotApp
from commands.integrations.oauth_state import OAuthStateRefused, PostgresOAuthStateStore
from commands.integrations.slack_oauth import OAuthRefused
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.integrations import SYSTEM_NAMES, integrations_id
from tests.fakes.receivers import FakeHubSpot
from tests.support import oauth
from tests.support.oauth import PUBLIC_URL, integrations_of, new_workspace, running, state_pool

KEYS = generate_key_spec("h1")
ADMIN = uuid.uuid4()
CALLBACK = PUBLIC_URL + hubspot_oauth.CALLBACK_PATH


@pytest.fixture(scope="module")
def hubspot() -> Iterator[FakeHubSpot]:
    with running(FakeHubSpot("pat-na1-private-app-token-0000")) as fake:
        yield fake


@pytest.fixture(scope="module")
def pool(container: Container) -> Iterator[ConnectionPool]:
    with state_pool(container) as p:
        yield p


def app_of(fake: FakeHubSpot) -> HubSpotApp:
    return HubSpotApp(*fake.client, CALLBACK, fake.url + "/oauth/authorize")


def ctx(container: Container, fake: FakeHubSpot) -> Context:
    return Context(container.app, KeyCipher(KEYS), hubspot_api_url=fake.url, timeout_s=5)


def consent(url: str) -> dict[str, str]:
    return oauth.consent(url, CALLBACK)


def install(container: Container, fake: FakeHubSpot, pool: ConnectionPool) -> UUID:
    ws = new_workspace(container, "HS")
    states = PostgresOAuthStateStore(pool, "hubspot")
    back = consent(hubspot_oauth.start(app_of(fake), states, ws, ADMIN))
    hubspot_oauth.complete(ctx(container, fake), app_of(fake), states, ws, ADMIN, back["state"], back["code"])
    return ws


def test_connect_with_hubspot_stores_both_tokens_sealed_with_the_expiry_and_portal(
    container: Container, hubspot: FakeHubSpot, pool: ConnectionPool
) -> None:
    # Given an Admin who clicks Connect with HubSpot
    ws = create_ws.execute(container.app, create_ws.CreateWorkspace("HS install")).workspace_id
    states = PostgresOAuthStateStore(pool, "hubspot")
    url = hubspot_oauth.start(app_of(hubspot), states, ws, ADMIN)
    q = parse_qs(urlsplit(url).query)
    assert url.startswith(hubspot.url + "/oauth/authorize?")
    assert q["scope"] == ["crm.objects.contacts.read crm.objects.contacts.write oauth"]
    assert q["redirect_uri"] == [CALLBACK] and q["client_id"] == [hubspot.client[0]]
    # When they connect the app on HubSpot's page and come back
    back = consent(url)
    before = datetime.now(UTC)
    portal = hubspot_oauth.complete(ctx(container, hubspot), app_of(hubspot), states, ws, ADMIN, back["state"],
                                    back["code"])  # fmt: skip
    # I expect the access and refresh tokens stored sealed, with the expiry HubSpot gave and the portal
    assert portal == "62515"
    found = integrations_of(container, ws)
    assert found is not None and found.hubspot is not None and found.hubspot_grant is not None
    grant = found.hubspot_grant
    assert timedelta(seconds=1790) < grant.expires_at - before < timedelta(seconds=1810)
    assert (grant.account, grant.scopes) == ("62515", hubspot.granted)
    issued = set(hubspot.access_tokens)
    assert not any(t in found.hubspot.ciphertext or t in grant.refresh.ciphertext for t in issued)
    assert found.checks["hubspot"].ok and "portal 62515" in found.checks["hubspot"].detail
    # and the same answer again refused
    with pytest.raises(OAuthStateRefused, match="already used"):
        hubspot_oauth.complete(ctx(container, hubspot), app_of(hubspot), states, ws, ADMIN, back["state"],
                               back["code"])  # fmt: skip


def test_a_cancelled_refused_or_narrower_install_stores_nothing(
    container: Container, hubspot: FakeHubSpot, pool: ConnectionPool
) -> None:
    ws = create_ws.execute(container.app, create_ws.CreateWorkspace("HS refused")).workspace_id
    states = PostgresOAuthStateStore(pool, "hubspot")
    c, a = ctx(container, hubspot), app_of(hubspot)
    hubspot.consent = "access_denied"
    try:
        back = consent(hubspot_oauth.start(a, states, ws, ADMIN))
    finally:
        hubspot.consent = "allow"
    with pytest.raises(OAuthRefused, match="cancelled"):
        hubspot_oauth.complete(c, a, states, ws, ADMIN, back["state"], None, back["error"])
    back = consent(hubspot_oauth.start(a, states, ws, ADMIN))
    with pytest.raises(OAuthRefused, match="BAD_AUTH_CODE"):
        hubspot_oauth.complete(c, a, states, ws, ADMIN, back["state"], "hs-code-forged")
    hubspot.granted = ["crm.objects.contacts.read", "oauth"]
    try:
        back = consent(hubspot_oauth.start(a, states, ws, ADMIN))
        with pytest.raises(OAuthRefused, match=r"missing crm\.objects\.contacts\.write"):
            hubspot_oauth.complete(c, a, states, ws, ADMIN, back["state"], back["code"])
    finally:
        hubspot.granted = ["crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"]
    assert integrations_of(container, ws) is None


def test_the_access_token_is_refreshed_once_shortly_before_it_expires(
    container: Container, hubspot: FakeHubSpot, pool: ConnectionPool
) -> None:
    ws = install(container, hubspot, pool)
    c, a = ctx(container, hubspot), app_of(hubspot)
    found = integrations_of(container, ws)
    assert found is not None and found.hubspot_grant is not None
    expires = found.hubspot_grant.expires_at
    first = hubspot_oauth.fresh_access_token(c, a, ws, now=expires - timedelta(minutes=20))
    # Given a token 20 minutes from expiry: used as it is
    refreshes = hubspot.refreshes
    assert first is not None and hubspot.refreshes == refreshes
    # When four deliveries need it 4 minutes before it expires, at the same time
    got: list[str | None] = []
    threads = [threading.Thread(target=lambda: got.append(hubspot_oauth.fresh_access_token(
        c, a, ws, now=expires - timedelta(minutes=4)))) for _ in range(4)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # I expect one refresh at HubSpot, the new token given to all four and recorded (TokenRefreshed)
    assert hubspot.refreshes == refreshes + 1
    assert len(set(got)) == 1 and got[0] != first and got[0] in hubspot.access_tokens
    after = integrations_of(container, ws)
    assert after is not None and after.hubspot_grant is not None and after.hubspot_grant.expires_at > expires
    events = [type(e).__name__ for e in container.app.repository.event_store.get(integrations_id(ws))]
    assert events.count("TokenRefreshed") == 1


def test_a_refused_refresh_shows_hubspot_disconnected_with_its_reason(
    container: Container, hubspot: FakeHubSpot, pool: ConnectionPool
) -> None:
    ws = install(container, hubspot, pool)
    found = integrations_of(container, ws)
    assert found is not None and found.hubspot_grant is not None
    # Given the app uninstalled in HubSpot (its refresh tokens no longer work)
    hubspot.refresh_tokens.clear()
    # When a delivery needs a fresh token
    with pytest.raises(hubspot_oauth.TokenRefreshRefused, match="BAD_REFRESH_TOKEN"):
        hubspot_oauth.fresh_access_token(ctx(container, hubspot), app_of(hubspot), ws,
                                         now=found.hubspot_grant.expires_at)  # fmt: skip
    # I expect the credential recorded as failing, with HubSpot's reason: the card says Disconnected, reconnect
    after = integrations_of(container, ws)
    assert after is not None
    check = after.checks["hubspot"]
    assert check.ok is False
    status = check.status(SYSTEM_NAMES["hubspot"])
    assert status.startswith("Disconnected") and "BAD_REFRESH_TOKEN" in status and "reconnect" in status.lower()


def test_disconnect_revokes_the_refresh_token_at_hubspot(
    container: Container, hubspot: FakeHubSpot, pool: ConnectionPool
) -> None:
    ws = install(container, hubspot, pool)
    live = set(hubspot.refresh_tokens)
    hubspot_cmd.disconnect(ctx(container, hubspot), ws, ADMIN)
    assert hubspot.revoked and hubspot.revoked[-1] in live and hubspot.revoked[-1] not in hubspot.refresh_tokens
    stored = list(container.app.repository.event_store.get(integrations_id(ws)))
    assert [type(e).__name__ for e in stored][-2:] == ["GrantRevoked", "HubSpotDisconnected"]
    assert stored[-2].revoked and stored[-2].system == "hubspot"  # type: ignore[attr-defined]
    after = integrations_of(container, ws)
    assert after is not None and after.hubspot is None and after.hubspot_grant is None
