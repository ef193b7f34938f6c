"""Zendesk's OAuth install on the real PostgreSQL, against a local Zendesk that speaks its consent redirect,
``POST /oauth/tokens`` (checking the PKCE verifier against the S256 challenge) and
``DELETE /api/v2/oauth/tokens/current.json``: a client per subdomain, the verifier kept with the single-use state,
refusals store nothing, Disconnect revokes the token."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from psycopg_pool import ConnectionPool

from chatassist.bootstrap import Container
from commands.integrations import zendesk as zendesk_cmd
from commands.integrations import zendesk_oauth
from commands.integrations.credential_test import check_now
from commands.integrations.oauth_apps import ZendeskApps, parse_zendesk_clients
from commands.integrations.oauth_state import PostgresOAuthStateStore
from commands.integrations.slack_oauth import OAuthRefused
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.errors import InvalidInput
from domain.integrations import integrations_id
from tests.fakes.receivers import FakeZendesk
from tests.support import oauth
from tests.support.oauth import PUBLIC_URL, integrations_of, new_workspace, running, state_pool

KEYS = generate_key_spec("z1")
ADMIN = uuid.uuid4()
CALLBACK = PUBLIC_URL + zendesk_oauth.CALLBACK_PATH


@pytest.fixture(scope="module")
def zendesk() -> Iterator[FakeZendesk]:
    with running(FakeZendesk("agent@acme.example", "zd-api-token-0000")) as fake:
        yield fake


@pytest.fixture(scope="module")
def pool(container: Container) -> Iterator[ConnectionPool]:
    with state_pool(container) as p:
        yield p


def apps_of(fake: FakeZendesk) -> ZendeskApps:
    return ZendeskApps(parse_zendesk_clients(f"acme={fake.client[0]}:{fake.client[1]}, other=x:y"), CALLBACK)


def ctx(container: Container) -> Context:
    return Context(container.app, KeyCipher(KEYS), allow_private=True, timeout_s=5)


def consent(url: str) -> dict[str, str]:
    return oauth.consent(url, CALLBACK)


def workspace(container: Container) -> UUID:
    return new_workspace(container, "ZD")


def test_connect_with_zendesk_uses_pkce_and_stores_the_bearer_token_sealed(
    container: Container, zendesk: FakeZendesk, pool: ConnectionPool
) -> None:
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "zendesk")
    # Given an Admin who connects the acme account (its own OAuth client)
    url = zendesk_oauth.start(ctx(container), apps_of(zendesk), states, ws, ADMIN, "Acme", zendesk.url)
    q = parse_qs(urlsplit(url).query)
    assert url.startswith(zendesk.url + "/oauth/authorizations/new?")
    assert q["client_id"] == [zendesk.client[0]] and q["code_challenge_method"] == ["S256"]
    assert q["scope"] == ["read write"] and len(q["code_challenge"][0]) == 43
    # When they allow it and come back
    back = consent(url)
    sub = zendesk_oauth.complete(ctx(container), apps_of(zendesk), states, ws, ADMIN, back["state"], back["code"])
    # I expect the token stored sealed as a bearer (OAuth) connection, tested with users/me
    assert sub == "acme"
    found = integrations_of(container, ws)
    assert found is not None and found.zendesk is not None and found.zendesk.oauth
    assert (found.zendesk.subdomain, found.zendesk.base_url, found.zendesk.email) == ("acme", zendesk.url, "")
    assert not any(t in found.zendesk.secret.ciphertext for t in zendesk.oauth_tokens)
    assert found.checks["zendesk"].ok and "by OAuth" in found.checks["zendesk"].detail
    # and Test asks Zendesk with the bearer token
    _, checked = check_now(ctx(container), ws, "zendesk", ADMIN)
    assert checked.ok


def test_a_subdomain_without_a_client_a_bad_verifier_a_cancel_or_narrower_scopes_store_nothing(
    container: Container, zendesk: FakeZendesk, pool: ConnectionPool
) -> None:
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "zendesk")
    c, apps = ctx(container), apps_of(zendesk)
    with pytest.raises(InvalidInput, match="No Zendesk OAuth client") as refused:
        zendesk_oauth.start(c, apps, states, ws, ADMIN, "globex", zendesk.url)
    assert refused.value.code == "zendesk_oauth_not_configured"
    # a code whose PKCE challenge does not match our verifier (an intercepted code replayed by someone else)
    back = consent(zendesk_oauth.start(c, apps, states, ws, ADMIN, "acme", zendesk.url))
    zendesk.codes[back["code"]] = (zendesk.codes[back["code"]][0], "another-challenge")
    with pytest.raises(OAuthRefused, match="invalid_grant"):
        zendesk_oauth.complete(c, apps, states, ws, ADMIN, back["state"], back["code"])
    zendesk.consent = "access_denied"
    try:
        back = consent(zendesk_oauth.start(c, apps, states, ws, ADMIN, "acme", zendesk.url))
    finally:
        zendesk.consent = "allow"
    with pytest.raises(OAuthRefused, match="refused on Zendesk's page"):
        zendesk_oauth.complete(c, apps, states, ws, ADMIN, back["state"], None, back["error"])
    zendesk.granted = "read"
    try:
        back = consent(zendesk_oauth.start(c, apps, states, ws, ADMIN, "acme", zendesk.url))
        with pytest.raises(OAuthRefused, match="missing write"):
            zendesk_oauth.complete(c, apps, states, ws, ADMIN, back["state"], back["code"])
    finally:
        zendesk.granted = "read write"
    assert integrations_of(container, ws) is None


def test_disconnect_revokes_the_oauth_token_at_zendesk(
    container: Container, zendesk: FakeZendesk, pool: ConnectionPool
) -> None:
    ws, states = workspace(container), PostgresOAuthStateStore(pool, "zendesk")
    back = consent(zendesk_oauth.start(ctx(container), apps_of(zendesk), states, ws, ADMIN, "acme", zendesk.url))
    zendesk_oauth.complete(ctx(container), apps_of(zendesk), states, ws, ADMIN, back["state"], back["code"])
    live = set(zendesk.oauth_tokens)
    zendesk_cmd.disconnect(ctx(container), ws, ADMIN)
    assert zendesk.revoked and zendesk.revoked[-1] in live and zendesk.revoked[-1] not in zendesk.oauth_tokens
    stored = list(container.app.repository.event_store.get(integrations_id(ws)))
    assert [type(e).__name__ for e in stored][-2:] == ["GrantRevoked", "ZendeskDisconnected"]
    assert stored[-2].revoked and stored[-2].system == "zendesk"  # type: ignore[attr-defined]
    after = integrations_of(container, ws)
    assert after is not None and after.zendesk is None
