"""Test a stored Slack, Zendesk or HubSpot credential with the vendor ("Test" on the card, or
``POST /api/integrations/{system}/test``); the outcome is a ``CredentialChecked`` event: connected, or disconnected
with when and why. When the vendor cannot be asked, nothing is recorded."""

from __future__ import annotations

from uuid import UUID

from commands._lazy import save_with_retries
from commands.integrations.checks import Checked, check_hubspot, check_slack, check_zendesk
from commands.integrations.secrets import require_cipher, unseal
from commands.integrations.webhooks import Context, existing
from domain.errors import NotFound
from domain.integrations import SYSTEM_NAMES, Integrations

SLACK_API_URL = "https://slack.com/api/"


def slack_api_base(url: str | None) -> str:
    """The Slack Web API base (CHATASSIST_SLACK_API_URL or Slack's), ending in a slash as slack-sdk wants."""
    base = url or SLACK_API_URL
    return base if base.endswith("/") else base + "/"


def zendesk_base(subdomain: str, base_url: str | None) -> str:
    """``base_url`` or ``https://<subdomain>.zendesk.com``."""
    return (base_url or f"https://{subdomain}.zendesk.com").rstrip("/")


def check_stored(ctx: Context, integrations: Integrations, system: str) -> Checked:
    """Decrypt the system's stored credential and ask the vendor; NotFound when it is not connected."""
    cipher = require_cipher(ctx.cipher)
    ws = integrations.workspace_id
    if system == "slack" and integrations.slack is not None:
        s = integrations.slack
        credential = unseal(cipher, ws, "slack", s.secret.key_id, s.secret.ciphertext)
        return check_slack(slack_api_base(ctx.slack_api_url), s.mode, credential, ctx.timeout_s)
    if system == "zendesk" and integrations.zendesk is not None:
        z = integrations.zendesk
        token = unseal(cipher, ws, "zendesk", z.secret.key_id, z.secret.ciphertext)
        return check_zendesk(zendesk_base(z.subdomain, z.base_url), None if z.oauth else z.email, token, ctx.timeout_s)
    if system == "hubspot" and integrations.hubspot is not None:
        h = integrations.hubspot
        token = unseal(cipher, ws, "hubspot", h.key_id, h.ciphertext)
        if integrations.hubspot_grant is not None:  # connected by OAuth: the access token, refreshed when due
            from commands.integrations.hubspot_oauth import TokenRefreshRefused, fresh_access_token

            try:
                token = fresh_access_token(ctx, ctx.hubspot_app, ws) or token
            except TokenRefreshRefused as exc:
                return Checked(False, exc.message.rstrip("."))
        return check_hubspot(ctx.hubspot_api_url, token, ctx.timeout_s)
    raise NotFound(f"{SYSTEM_NAMES.get(system, system)} is not connected.", code="integration_not_connected")


def check_now(ctx: Context, workspace_id: UUID, system: str, by: UUID) -> tuple[Integrations, Checked]:
    """Ask the vendor and record the outcome (unless the vendor could not be asked); returns the aggregate as saved
    and the outcome."""
    try:
        integrations = existing(ctx.app, workspace_id)
    except NotFound:
        raise NotFound(f"{SYSTEM_NAMES[system]} is not connected.", code="integration_not_connected") from None
    checked = check_stored(ctx, integrations, system)
    if not checked.reachable:
        return integrations, checked
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        fresh = existing(ctx.app, workspace_id)
        fresh.record_credential_check(system, checked.ok, checked.detail, by)
        saved[:] = [fresh]
        return [fresh]

    save_with_retries(ctx.app, "integrations", attempt)
    return saved[0], checked
