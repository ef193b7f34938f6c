"""Zendesk's OAuth install ("Connect with Zendesk"), per account: the subdomain's own OAuth client
(CHATASSIST_ZENDESK_OAUTH_CLIENTS), the authorization code flow with PKCE (S256; the verifier kept with the
single-use state), ``POST https://<subdomain>.zendesk.com/oauth/tokens``, tickets then made with the bearer
token, and the token revoked on Disconnect (``DELETE /api/v2/oauth/tokens/current.json``). ADR 0043."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import urlencode
from uuid import UUID

import httpx

from commands._lazy import save_with_retries
from commands.integrations.checks import check_zendesk
from commands.integrations.credential_test import zendesk_base
from commands.integrations.oauth_apps import ZendeskApps, ZendeskClient
from commands.integrations.oauth_state import PostgresOAuthStateStore
from commands.integrations.secrets import check_url, require_cipher, seal, unseal
from commands.integrations.slack_oauth import OAuthRefused
from commands.integrations.webhooks import Context, load_or_new
from domain.errors import InvalidInput
from domain.integrations import Integrations

SCOPES = ("read", "write")  # tickets are written; users/me is read
CALLBACK_PATH = "/api/integrations/zendesk/oauth/callback"  # under CHATASSIST_PUBLIC_URL
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def challenge_of(verifier: str) -> str:
    """PKCE S256: base64url(sha256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def client_for(apps: ZendeskApps | None, subdomain: str) -> ZendeskClient:
    """The subdomain's OAuth client; InvalidInput ``zendesk_oauth_not_configured`` when there is none."""
    found = apps.clients.get(subdomain) if apps is not None else None
    if found is None:
        raise InvalidInput(
            f"No Zendesk OAuth client is set up for {subdomain or 'this subdomain'}: add it to"
            " CHATASSIST_ZENDESK_OAUTH_CLIENTS (docs/integrations.md), or connect Zendesk with an API token.",
            code="zendesk_oauth_not_configured",
        )
    return found


def start(
    ctx: Context,
    apps: ZendeskApps | None,
    states: PostgresOAuthStateStore,
    workspace_id: UUID,
    account_id: UUID,
    subdomain: str,
    base_url: str | None = None,
) -> str:
    """The URL of the Zendesk account's consent page (a new single-use state and PKCE verifier)."""
    subdomain = (subdomain or "").strip().lower()
    if not SUBDOMAIN.match(subdomain):
        raise InvalidInput("Give the Zendesk subdomain: acme for acme.zendesk.com.", code="invalid_subdomain")
    client = client_for(apps, subdomain)
    assert apps is not None
    base = check_url(base_url, allow_private=ctx.allow_private, what="Zendesk host") if base_url else None
    verifier = secrets.token_urlsafe(64)
    detail = {"subdomain": subdomain, "base_url": base}
    state = states.issue(workspace_id=workspace_id, account_id=account_id, code_verifier=verifier, detail=detail)
    query = {
        "response_type": "code", "client_id": client.client_id, "redirect_uri": apps.redirect_uri,
        "scope": " ".join(SCOPES), "state": state, "code_challenge": challenge_of(verifier),
        "code_challenge_method": "S256",
    }  # fmt: skip
    return zendesk_base(subdomain, base) + "/oauth/authorizations/new?" + urlencode(query)


def complete(
    ctx: Context,
    apps: ZendeskApps | None,
    states: PostgresOAuthStateStore,
    workspace_id: UUID,
    account_id: UUID,
    state: str | None,
    code: str | None,
    error: str | None = None,
) -> str:
    """Check the state, exchange the code with the PKCE verifier, check the scopes and the token, store it sealed;
    returns the subdomain. OAuthStateRefused / OAuthRefused (nothing stored) otherwise."""
    claimed = states.claim(state, workspace_id, account_id)
    subdomain, base = str(claimed.detail.get("subdomain") or ""), claimed.detail.get("base_url")
    if error:
        raise OAuthRefused(
            f"Zendesk was not connected: the access was refused on Zendesk's page ({error[:60]}). Click Connect with"
            " Zendesk again and choose Allow."
        )
    if not code or not claimed.code_verifier:
        raise OAuthRefused("Zendesk sent no authorization code back: click Connect with Zendesk again.")
    client = client_for(apps, subdomain)
    assert apps is not None
    form = {
        "grant_type": "authorization_code", "code": code, "client_id": client.client_id,
        "client_secret": client.client_secret, "redirect_uri": apps.redirect_uri, "scope": " ".join(SCOPES),
        "code_verifier": claimed.code_verifier,
    }  # fmt: skip
    try:
        answer = httpx.post(zendesk_base(subdomain, base) + "/oauth/tokens", json=form, timeout=ctx.timeout_s)
    except httpx.HTTPError as err:
        raise OAuthRefused(f"Zendesk could not be reached ({type(err).__name__}): try again in a minute.") from None
    data = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code != 200 or not data.get("access_token"):
        reason = data.get("error") or answer.status_code
        raise OAuthRefused(f"Zendesk refused the code exchange ({reason}): click Connect with Zendesk again.")
    granted = set(str(data.get("scope") or "").split())
    missing = [s for s in SCOPES if s not in granted]
    if missing:
        raise OAuthRefused(
            f"Zendesk granted fewer permissions than needed (missing {', '.join(missing)}): connect again."
        )
    token = str(data["access_token"])
    checked = check_zendesk(zendesk_base(subdomain, base), None, token, ctx.timeout_s)
    if not checked.ok:
        raise OAuthRefused(f"Zendesk's new token did not work ({checked.detail}): click Connect with Zendesk again.")
    secret = seal(require_cipher(ctx.cipher), workspace_id, "zendesk", token)

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.install_zendesk(subdomain, secret, base, account_id)
        integrations.record_credential_check("zendesk", True, f"{checked.detail} (by OAuth)", account_id)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return subdomain


def revoke(ctx: Context, integrations: Integrations) -> tuple[bool, str] | None:
    """Revoke the OAuth token at Zendesk (``DELETE /api/v2/oauth/tokens/current.json``): (revoked, what Zendesk
    said); None for an API token (revoked by an admin in Zendesk's Admin Center)."""
    z = integrations.zendesk
    if z is None or not z.oauth:
        return None
    token = unseal(
        require_cipher(ctx.cipher), integrations.workspace_id, "zendesk", z.secret.key_id, z.secret.ciphertext
    )
    try:
        answer = httpx.delete(
            zendesk_base(z.subdomain, z.base_url) + "/api/v2/oauth/tokens/current.json",
            headers={"Authorization": f"Bearer {token}"},
            timeout=ctx.timeout_s,
        )
    except httpx.HTTPError as err:
        return False, f"Zendesk could not be reached ({type(err).__name__}): revoke the token in Zendesk's Admin Center"
    if answer.status_code not in (200, 204):
        return False, f"Zendesk answered {answer.status_code} to the revocation: revoke it in Zendesk's Admin Center"
    return True, "the OAuth token was revoked at Zendesk (DELETE /api/v2/oauth/tokens/current.json)"
