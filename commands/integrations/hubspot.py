"""HubSpot: connect with a private app's access token (scopes: contacts write, notes write); disconnect."""

from __future__ import annotations

from uuid import UUID

from commands._lazy import save_with_retries
from commands.integrations.checks import check_hubspot, require_ok
from commands.integrations.hubspot_oauth import revoke
from commands.integrations.secrets import require_cipher, seal
from commands.integrations.webhooks import Context, existing, load_or_new
from domain.errors import InvalidInput
from domain.integrations import Integrations, Secret


def connect(ctx: Context, workspace_id: UUID, by: UUID, access_token: str) -> Secret:
    """Validate, test with HubSpot (a page of one contact), encrypt and save the token (replacing an earlier one);
    returns it sealed (last four shown). 409 ``credential_rejected`` / 422 ``integration_unreachable``."""
    token = (access_token or "").strip() if isinstance(access_token, str) else ""
    if not 20 <= len(token) <= 300 or any(c.isspace() for c in token):
        raise InvalidInput(
            "A HubSpot private app access token (pat-...) is 20 to 300 characters, without spaces.",
            code="invalid_access_token",
        )
    cipher = require_cipher(ctx.cipher)
    checked = check_hubspot(ctx.hubspot_api_url, token, ctx.timeout_s)
    require_ok(checked, "Check the private app's access token and its scopes in HubSpot and try again.")
    secret = seal(cipher, workspace_id, "hubspot", token)

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.connect_hubspot(secret, by)
        integrations.record_credential_check("hubspot", True, checked.detail, by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return secret


def disconnect(ctx: Context, workspace_id: UUID, by: UUID) -> None:
    """Revoke an OAuth grant at HubSpot (recorded as ``GrantRevoked``, whatever HubSpot answers), then forget
    HubSpot."""
    outcome = revoke(ctx, existing(ctx.app, workspace_id))

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        if outcome is not None:
            integrations.record_grant_revoked("hubspot", outcome[0], outcome[1], by)
        integrations.disconnect_hubspot(by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
