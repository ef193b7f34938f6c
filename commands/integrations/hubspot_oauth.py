"""HubSpot's OAuth install ("Connect with HubSpot"): the authorize URL with a state bound to the Admin and
workspace, the code exchange (``POST /oauth/v1/token``, grant_type ``authorization_code``, through
hubspot-api-client), the access token refreshed on use shortly before it expires (grant_type ``refresh_token``,
under a PostgreSQL advisory lock so that one process refreshes), a refused refresh recorded as the credential
failing (the card shows Disconnected with the provider's reason), and revocation of the refresh token
(``DELETE /oauth/v1/refresh-tokens/:token``) on Disconnect. ADR 0043."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import psycopg

from commands._lazy import get_or_none, save_with_retries
from commands.integrations.oauth_apps import HubSpotApp
from commands.integrations.oauth_state import PostgresOAuthStateStore
from commands.integrations.secrets import require_cipher, seal, unseal
from commands.integrations.slack_oauth import OAuthRefused
from commands.integrations.webhooks import Context, load_or_new
from domain.errors import Conflict
from domain.integrations import Integrations, integrations_id

SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write", "oauth")
CALLBACK_PATH = "/api/integrations/hubspot/oauth/callback"  # under CHATASSIST_PUBLIC_URL
REFRESH_MARGIN = timedelta(minutes=5)  # refresh an access token that expires sooner than this


class TokenRefreshRefused(Conflict):
    """HubSpot would not renew the access token (the app uninstalled, the grant revoked): reconnect."""

    code = "token_refresh_refused"


def _client(ctx: Context) -> Any:
    from hubspot import HubSpot

    options: dict[str, Any] = {}
    if ctx.hubspot_api_url:
        options["host"] = ctx.hubspot_api_url.rstrip("/")
    return HubSpot(**options)


def _reason(err: Any) -> str:
    import json

    try:
        body = json.loads(err.body or "{}")
    except ValueError:
        body = {}
    return str(body.get("status") or body.get("message") or err.status or "no answer")[:120]


def start(app: HubSpotApp, states: PostgresOAuthStateStore, workspace_id: UUID, account_id: UUID) -> str:
    """The URL of HubSpot's consent page for this Admin's install (a new single-use state)."""
    state = states.issue(workspace_id=workspace_id, account_id=account_id)
    query = {"client_id": app.client_id, "redirect_uri": app.redirect_uri, "scope": " ".join(SCOPES), "state": state}
    return app.authorize_url + "?" + urlencode(query)


def complete(
    ctx: Context,
    app: HubSpotApp,
    states: PostgresOAuthStateStore,
    workspace_id: UUID,
    account_id: UUID,
    state: str | None,
    code: str | None,
    error: str | None = None,
    now: datetime | None = None,
) -> str:
    """Check the state, exchange the code, check the scopes granted, store the tokens sealed; returns the portal
    (hub) id. OAuthStateRefused / OAuthRefused (nothing stored) otherwise."""
    from hubspot.oauth.exceptions import ApiException

    states.claim(state, workspace_id, account_id)
    if error:
        raise OAuthRefused(
            f"HubSpot was not connected: the install was cancelled on HubSpot's page ({error[:60]}). Click Connect"
            " with HubSpot again and choose Connect app."
        )
    if not code:
        raise OAuthRefused("HubSpot sent no authorization code back: click Connect with HubSpot again.")
    client = _client(ctx)
    now = now or datetime.now(UTC)
    try:
        tokens = client.oauth.tokens_api.create(
            grant_type="authorization_code", code=code, redirect_uri=app.redirect_uri,
            client_id=app.client_id, client_secret=app.client_secret,
        )  # fmt: skip
        info = client.oauth.access_tokens_api.get(tokens.access_token)
    except ApiException as err:
        raise OAuthRefused(
            f"HubSpot refused the code exchange ({_reason(err)}): click Connect with HubSpot again."
        ) from None
    missing = [s for s in SCOPES if s not in set(info.scopes or [])]
    if missing:
        raise OAuthRefused(
            f"HubSpot granted fewer permissions than needed (missing {', '.join(missing)}): connect again."
        )
    if not tokens.access_token or not tokens.refresh_token:
        raise OAuthRefused("HubSpot's answer held no access or refresh token: click Connect with HubSpot again.")
    cipher = require_cipher(ctx.cipher)
    access = seal(cipher, workspace_id, "hubspot", tokens.access_token)
    refresh = seal(cipher, workspace_id, "hubspot:refresh", tokens.refresh_token)
    expires_at = now + timedelta(seconds=int(tokens.expires_in or 0))
    portal = str(info.hub_id)

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.install_hubspot(access, refresh, expires_at, portal, list(info.scopes), account_id)
        detail = f"installed in portal {portal} ({info.hub_domain}) by OAuth"
        integrations.record_credential_check("hubspot", True, detail, account_id)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return portal


def fresh_access_token(
    ctx: Context, app: HubSpotApp | None, workspace_id: UUID, now: datetime | None = None
) -> str | None:
    """The workspace's HubSpot access token, refreshed first when it expires within REFRESH_MARGIN; None when
    HubSpot is not connected by OAuth (a private app's token is used as stored). TokenRefreshRefused (recorded as
    the credential failing, with HubSpot's reason) when HubSpot will not renew it."""
    found = get_or_none(ctx.app, integrations_id(workspace_id), Integrations)
    if found is None or found.hubspot is None or found.hubspot_grant is None:
        return None
    cipher = require_cipher(ctx.cipher)
    now = now or datetime.now(UTC)
    if found.hubspot_grant.expires_at - now > REFRESH_MARGIN:
        return unseal(cipher, workspace_id, "hubspot", found.hubspot.key_id, found.hubspot.ciphertext)
    if app is None:
        raise TokenRefreshRefused(
            "HubSpot's access token expired and CHATASSIST_HUBSPOT_CLIENT_ID / _SECRET are not set to renew it."
        )
    lock = zlib.crc32(f"oauth-refresh:hubspot:{workspace_id}".encode())
    pool = ctx.app.recorder.datastore.pool
    # a connection of its own (not one of the pool's, which the load and save below need): one refresh at a time
    conninfo = pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()
    kwargs = pool.kwargs if isinstance(pool.kwargs, dict) else (pool.kwargs() if pool.kwargs else {})
    kwargs = {k: v for k, v in kwargs.items() if k in ("autocommit", "connect_timeout", "prepare_threshold")}
    with psycopg.connect(conninfo, **kwargs) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        return _refresh_locked(ctx, app, workspace_id, now)


def _refresh_locked(ctx: Context, app: HubSpotApp, workspace_id: UUID, now: datetime) -> str:
    from hubspot.oauth.exceptions import ApiException

    cipher = require_cipher(ctx.cipher)
    current = get_or_none(ctx.app, integrations_id(workspace_id), Integrations)
    if current is None or current.hubspot is None or current.hubspot_grant is None:
        raise TokenRefreshRefused("HubSpot was disconnected meanwhile.")
    grant = current.hubspot_grant
    if grant.expires_at - now > REFRESH_MARGIN:  # another process refreshed it while we waited for the lock
        return unseal(cipher, workspace_id, "hubspot", current.hubspot.key_id, current.hubspot.ciphertext)
    refresh_token = unseal(cipher, workspace_id, "hubspot:refresh", grant.refresh.key_id, grant.refresh.ciphertext)
    try:
        tokens = _client(ctx).oauth.tokens_api.create(
            grant_type="refresh_token", refresh_token=refresh_token, redirect_uri=app.redirect_uri,
            client_id=app.client_id, client_secret=app.client_secret,
        )  # fmt: skip
    except ApiException as err:
        if err.status is not None and 400 <= err.status < 500 and err.status != 429:
            reason = _reason(err)
            detail = f"HubSpot would not renew the access token ({reason}): app uninstalled or grant revoked"

            def refused() -> list[Integrations]:
                integrations = load_or_new(ctx.app, workspace_id)
                integrations.record_credential_check("hubspot", False, detail, None)
                return [integrations]

            save_with_retries(ctx.app, "integrations", refused)
            raise TokenRefreshRefused(detail + ".") from None
        raise  # a 429 or 5xx: the delivery retries later
    access = seal(cipher, workspace_id, "hubspot", tokens.access_token)
    expires_at = now + timedelta(seconds=int(tokens.expires_in or 0))

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.record_token_refreshed("hubspot", access, expires_at)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return str(tokens.access_token)


def revoke(ctx: Context, integrations: Integrations) -> tuple[bool, str] | None:
    """Revoke the refresh token at HubSpot (``DELETE /oauth/v1/refresh-tokens/:token``): (revoked, what HubSpot
    said); None for a private app's token (nothing to revoke: it is removed in HubSpot's settings)."""
    from hubspot.oauth.exceptions import ApiException

    grant = integrations.hubspot_grant
    if grant is None:
        return None
    cipher = require_cipher(ctx.cipher)
    token = unseal(cipher, integrations.workspace_id, "hubspot:refresh", grant.refresh.key_id, grant.refresh.ciphertext)
    try:
        _client(ctx).oauth.refresh_tokens_api.archive(token)
    except ApiException as err:
        return False, f"HubSpot refused the revocation ({_reason(err)}): uninstall the app in HubSpot's settings"
    except OSError as err:
        return False, f"HubSpot could not be reached ({type(err).__name__}): uninstall the app in HubSpot's settings"
    return True, "the refresh token was revoked at HubSpot (DELETE /oauth/v1/refresh-tokens)"
