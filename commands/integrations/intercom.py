"""Intercom: connect with an access token that ``GET /me`` accepts; re-check it (daily by the scheduler, or asked
for); disconnect. The check is one cheap call; its outcome is an event (connected, or disconnected with when and why).
"""

from __future__ import annotations

from uuid import UUID

import httpx

from commands._lazy import get_or_none, save_with_retries
from commands.application import ChatAssistApp
from commands.integrations.checks import Checked, require_ok, unreachable
from commands.integrations.secrets import require_cipher, seal, unseal
from commands.integrations.webhooks import Context, existing, load_or_new
from commands.provider_keys.cipher import KeyCipher
from domain.errors import InvalidInput
from domain.integrations import Integrations, IntercomConnection, integrations_id

DEFAULT_API_URL = "https://api.intercom.io"


def check_token(api_url: str | None, token: str, timeout_s: float = 10.0) -> Checked:
    """One ``GET /me`` with the token."""
    url = (api_url or DEFAULT_API_URL).rstrip("/") + "/me"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Intercom-Version": "2.11"}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as err:
        return unreachable("Intercom", type(err).__name__)
    if response.status_code in (401, 403):
        return Checked(False, f"Intercom answered {response.status_code}: the token was rejected")
    if response.status_code != 200:
        return Checked(False, f"Intercom answered {response.status_code}", reachable=False)
    try:
        me = response.json()
    except ValueError:
        return Checked(False, "Intercom answered 200 without JSON", reachable=False)
    return Checked(True, f"token of {me.get('email') or me.get('name') or me.get('id') or 'an admin'}")


def connect(ctx: Context, workspace_id: UUID, by: UUID, access_token: str) -> IntercomConnection:
    """Check the token with Intercom, then store it encrypted; 409 ``credential_rejected`` (nothing stored) when
    Intercom refuses it, 422 ``integration_unreachable`` when Intercom cannot be asked."""
    token = access_token.strip() if isinstance(access_token, str) else ""
    if not 20 <= len(token) <= 300 or any(c.isspace() for c in token):
        raise InvalidInput(
            "An Intercom access token is 20 to 300 characters, without spaces.", code="invalid_access_token"
        )
    cipher = require_cipher(ctx.cipher)
    checked = check_token(ctx.intercom_api_url, token)
    require_ok(checked, "Check the token in Intercom's Developer Hub and try again.")
    secret = seal(cipher, workspace_id, "intercom", token)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.connect_intercom(secret, checked.detail, by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    assert saved[0].intercom is not None
    return saved[0].intercom


def recheck(app: ChatAssistApp, cipher: KeyCipher | None, api_url: str | None, workspace_id: UUID) -> bool | None:
    """Check the workspace's stored token again and record the outcome (None: no Intercom, or Intercom could not
    be reached, which records nothing)."""
    integrations = get_or_none(app, integrations_id(workspace_id), Integrations)
    if integrations is None or integrations.intercom is None:
        return None
    stored = integrations.intercom.secret
    token = unseal(require_cipher(cipher), workspace_id, "intercom", stored.key_id, stored.ciphertext)
    checked = check_token(api_url, token)
    if not checked.ok and not checked.reachable:
        return None

    def attempt() -> list[Integrations]:
        fresh = existing(app, workspace_id)
        fresh.record_intercom_check(checked.ok, checked.detail)
        return [fresh]

    save_with_retries(app, "integrations", attempt)
    return checked.ok


def disconnect(ctx: Context, workspace_id: UUID, by: UUID) -> None:
    """Forget Intercom."""

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.disconnect_intercom(by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
