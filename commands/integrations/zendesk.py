"""Zendesk: connect with a subdomain (or a base URL), an agent's email and an API token; disconnect; record the
ticket a delivery opened on its conversation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from uuid import UUID

from commands._common import update
from commands._lazy import save_with_retries
from commands.application import ChatAssistApp
from commands.integrations.checks import check_zendesk, require_ok
from commands.integrations.credential_test import zendesk_base
from commands.integrations.secrets import check_url, require_cipher, seal
from commands.integrations.webhooks import Context, existing, load_or_new
from domain.conversation import Conversation
from domain.errors import InvalidInput
from domain.integrations import Integrations, ZendeskConnection

_SUBDOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}")


@dataclass(frozen=True)
class ConnectZendesk:
    """``base_url`` (optional) replaces ``https://<subdomain>.zendesk.com`` (a regional host, or the tests' fake)."""

    workspace_id: UUID
    by: UUID
    subdomain: str
    email: str
    api_token: str
    base_url: str | None = None
    route_groups: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"ConnectZendesk(workspace_id={self.workspace_id}, subdomain={self.subdomain!r}, api_token=<hidden>)"


def connect(ctx: Context, cmd: ConnectZendesk) -> ZendeskConnection:
    """Validate, test with Zendesk (``GET /api/v2/users/me.json``), encrypt the token and save the connection
    (replacing an earlier one); 409 ``credential_rejected`` / 422 ``integration_unreachable``."""
    subdomain = (cmd.subdomain or "").strip().lower()
    if not _SUBDOMAIN.fullmatch(subdomain):
        raise InvalidInput("The Zendesk subdomain is the 'acme' of acme.zendesk.com.", code="invalid_subdomain")
    email = (cmd.email or "").strip()
    if not _EMAIL.fullmatch(email):
        raise InvalidInput("Give the email of the Zendesk agent the API token belongs to.", code="invalid_email")
    token = (cmd.api_token or "").strip()
    if not 20 <= len(token) <= 200 or any(c.isspace() for c in token):
        raise InvalidInput("A Zendesk API token is 20 to 200 characters, without spaces.", code="invalid_api_token")
    base_url = (
        check_url(cmd.base_url, allow_private=ctx.allow_private, what="Zendesk base URL") if cmd.base_url else None
    )
    groups = cmd.route_groups or {}
    if not isinstance(groups, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in groups.items()
    ):
        raise InvalidInput("route_groups maps escalation routes to Zendesk group ids (numbers).", code="invalid_groups")
    cipher = require_cipher(ctx.cipher)
    checked = check_zendesk(zendesk_base(subdomain, base_url), email, token, ctx.timeout_s)
    require_ok(checked, "Check the subdomain, the agent's email and the API token in Zendesk's Admin Center.")
    secret = seal(cipher, cmd.workspace_id, "zendesk", token)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, cmd.workspace_id)
        integrations.connect_zendesk(subdomain, email, secret, base_url, groups, cmd.by)
        integrations.record_credential_check("zendesk", True, checked.detail, cmd.by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    assert saved[0].zendesk is not None
    return saved[0].zendesk


def disconnect(ctx: Context, workspace_id: UUID, by: UUID) -> None:
    """Revoke an OAuth token at Zendesk (recorded as ``GrantRevoked``, whatever Zendesk answers), then forget the
    Zendesk connection."""
    from commands.integrations.zendesk_oauth import revoke

    outcome = revoke(ctx, existing(ctx.app, workspace_id))

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        if outcome is not None:
            integrations.record_grant_revoked("zendesk", outcome[0], outcome[1], by)
        integrations.disconnect_zendesk(by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)


def record_ticket(app: ChatAssistApp, conversation_id: UUID, system: str, ticket_id: str) -> None:
    """Record on the conversation the ticket a delivery opened (a worker calls this after the vendor's answer)."""
    update(app, conversation_id, Conversation, "conversation", lambda c: c.record_external_ticket(system, ticket_id))
