"""Webhook endpoints: add (the secret shown once), change, remove, rotate the secret, send a test event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from commands._lazy import get_or_none, save_with_retries
from commands.application import ChatAssistApp
from commands.integrations.oauth_apps import HubSpotApp, SlackApp, ZendeskApps
from commands.integrations.secrets import check_url, new_webhook_secret, require_cipher, seal
from commands.provider_keys.cipher import KeyCipher
from domain.errors import NotFound
from domain.integrations import Endpoint, Integrations, check_description, check_event_types, integrations_id


@dataclass(frozen=True)
class Context:
    """What every integration command needs: the app, the secrets cipher and the private-URL setting."""

    app: ChatAssistApp
    cipher: KeyCipher | None
    allow_private: bool = False
    intercom_api_url: str | None = None  # CHATASSIST_INTERCOM_API_URL (tests, proxies)
    slack_api_url: str | None = None  # CHATASSIST_SLACK_API_URL
    hubspot_api_url: str | None = None  # CHATASSIST_HUBSPOT_API_URL
    timeout_s: float = 10.0  # of a credential test call
    slack_app: SlackApp | None = None  # the Slack app's OAuth client ("Add to Slack"); None: token paste only
    hubspot_app: HubSpotApp | None = None  # HubSpot's OAuth client ("Connect with HubSpot"); None: token paste only
    zendesk_apps: ZendeskApps | None = None  # Zendesk's OAuth clients by subdomain; None: API tokens only


@dataclass(frozen=True)
class AddEndpoint:
    """Add an endpoint of the workspace."""

    workspace_id: UUID
    by: UUID
    url: str
    event_types: list[str]
    description: str = ""


@dataclass(frozen=True)
class Created:
    """The new endpoint and its secret, in clear this once."""

    endpoint: Endpoint
    secret: str = field(repr=False)


def load_or_new(app: ChatAssistApp, workspace_id: UUID) -> Integrations:
    """The workspace's Integrations aggregate, created when it has none."""
    return get_or_none(app, integrations_id(workspace_id), Integrations) or Integrations(workspace_id)


def existing(app: ChatAssistApp, workspace_id: UUID) -> Integrations:
    """The workspace's Integrations aggregate, or NotFound ``endpoint_not_found``."""
    found = get_or_none(app, integrations_id(workspace_id), Integrations)
    if found is None:
        raise NotFound("There is no webhook endpoint with this id in your workspace.", code="endpoint_not_found")
    return found


def add_endpoint(ctx: Context, cmd: AddEndpoint) -> Created:
    """Validate everything, then save the endpoint with a new encrypted secret."""
    url = check_url(cmd.url, allow_private=ctx.allow_private)
    types = check_event_types(cmd.event_types)
    description = check_description(cmd.description)
    plaintext = new_webhook_secret()
    endpoint_id = "ep_" + uuid.uuid4().hex[:20]
    secret = seal(require_cipher(ctx.cipher), cmd.workspace_id, f"webhook:{endpoint_id}", plaintext)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, cmd.workspace_id)
        integrations.add_endpoint(endpoint_id, url, types, description, secret, cmd.by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return Created(saved[0].endpoints[endpoint_id], plaintext)


def change_endpoint(ctx: Context, workspace_id: UUID, by: UUID, endpoint_id: str, changes: dict[str, Any]) -> Endpoint:
    """Change url, event_types, description or enabled; all validated before anything is saved."""
    changes = dict(changes)
    if "url" in changes:
        changes["url"] = check_url(changes["url"], allow_private=ctx.allow_private)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.change_endpoint(endpoint_id, dict(changes), by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return saved[0].endpoints[endpoint_id]


def remove_endpoint(ctx: Context, workspace_id: UUID, by: UUID, endpoint_id: str) -> None:
    """Delete the endpoint."""

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.remove_endpoint(endpoint_id, by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)


def rotate_secret(ctx: Context, workspace_id: UUID, by: UUID, endpoint_id: str) -> Created:
    """A new secret, returned in clear this once; the previous one stays valid for 24 hours."""
    existing(ctx.app, workspace_id).endpoint(endpoint_id)
    plaintext = new_webhook_secret()
    secret = seal(require_cipher(ctx.cipher), workspace_id, f"webhook:{endpoint_id}", plaintext)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.rotate_secret(endpoint_id, secret, by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return Created(saved[0].endpoints[endpoint_id], plaintext)


def send_test(ctx: Context, workspace_id: UUID, by: UUID, endpoint_id: str) -> str:
    """Record a test request; the workers deliver a ``webhook.test`` event to the endpoint. Returns the test id."""
    test_id = "test_" + uuid.uuid4().hex[:20]

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.request_test(endpoint_id, test_id, by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return test_id


def redeliver(ctx: Context, workspace_id: UUID, by: UUID, delivery_id: str) -> None:
    """Record a redelivery request of a dead delivery (the caller checked that it is dead and the workspace's)."""

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.request_redelivery(delivery_id, by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)


def disable_endpoint(app: ChatAssistApp, workspace_id: UUID, endpoint_id: str, reason: str) -> None:
    """Disable an endpoint on the delivery side's decision (410 Gone); an endpoint removed meanwhile is left alone."""

    def attempt() -> list[Integrations]:
        integrations = existing(app, workspace_id)
        if endpoint_id in integrations.endpoints:
            integrations.disable_endpoint(endpoint_id, reason)
        return [integrations]

    save_with_retries(app, "integrations", attempt)
