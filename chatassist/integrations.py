"""Wiring of the integrations: the follower (outbox), the deliverer of the actors, the commands' context, the sweep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chatassist.bootstrap import SMALL_POOL, Container, key_cipher
from chatassist.outbox_runner import FollowingRunner
from chatassist.settings import Settings
from commands.integrations.hubspot_oauth import CALLBACK_PATH as HUBSPOT_CALLBACK
from commands.integrations.hubspot_oauth import fresh_access_token
from commands.integrations.oauth_apps import (
    HUBSPOT_AUTHORIZE_URL,
    HubSpotApp,
    SlackApp,
    ZendeskApps,
    parse_zendesk_clients,
)
from commands.integrations.slack_oauth import AUTHORIZE_URL, CALLBACK_PATH
from commands.integrations.webhooks import Context, disable_endpoint
from commands.integrations.zendesk import record_ticket
from commands.integrations.zendesk_oauth import CALLBACK_PATH as ZENDESK_CALLBACK
from domain.integrations import RETRY_SCHEDULE_S
from projections.integrations.projection import IntegrationsProjection, IntegrationsView
from workers.deliver import Deliverer, DeliveryConfig


def schedule_of(settings: Settings) -> tuple[float, ...]:
    """The retry schedule: CHATASSIST_DELIVERY_SCHEDULE (seconds, comma-separated) or Standard Webhooks'."""
    if not settings.delivery_schedule.strip():
        return RETRY_SCHEDULE_S
    try:
        values = tuple(float(part) for part in settings.delivery_schedule.split(",") if part.strip())
    except ValueError:
        raise SystemExit("CHATASSIST_DELIVERY_SCHEDULE must be seconds separated by commas, e.g. 5,300,1800") from None
    if not values or any(v < 0 for v in values):
        raise SystemExit("CHATASSIST_DELIVERY_SCHEDULE must list at least one delay of 0 seconds or more")
    return values


def context(container: Container) -> Context:
    """What the integration commands need."""
    settings = container.settings
    return Context(
        container.app,
        key_cipher(settings),
        settings.integrations_allow_private_urls,
        settings.intercom_api_url,
        settings.slack_api_url,
        settings.hubspot_api_url,
        settings.delivery_timeout_s,
        slack_app=slack_app(settings),
        hubspot_app=hubspot_app(settings),
        zendesk_apps=zendesk_apps(settings),
    )


def zendesk_apps(settings: Settings) -> ZendeskApps | None:
    """Zendesk's OAuth clients by subdomain (CHATASSIST_ZENDESK_OAUTH_CLIENTS), calling back to
    CHATASSIST_PUBLIC_URL; None when none is set (Zendesk is then connected with an API token)."""
    try:
        clients = parse_zendesk_clients(settings.zendesk_oauth_clients)
    except ValueError as err:
        raise SystemExit(f"CHATASSIST_ZENDESK_OAUTH_CLIENTS: {err}") from None
    if not clients:
        return None
    public_url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return ZendeskApps(clients, public_url + ZENDESK_CALLBACK)


def hubspot_app(settings: Settings) -> HubSpotApp | None:
    """HubSpot's OAuth client (CHATASSIST_HUBSPOT_CLIENT_ID and _SECRET, both or neither), calling back to
    CHATASSIST_PUBLIC_URL; None without them (HubSpot is then connected with a private app's token)."""
    client_id, secret = (settings.hubspot_client_id or "").strip(), (settings.hubspot_client_secret or "").strip()
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        raise SystemExit("Set both CHATASSIST_HUBSPOT_CLIENT_ID and CHATASSIST_HUBSPOT_CLIENT_SECRET (or neither)")
    public_url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return HubSpotApp(
        client_id, secret, public_url + HUBSPOT_CALLBACK, settings.hubspot_authorize_url or HUBSPOT_AUTHORIZE_URL
    )


def slack_app(settings: Settings) -> SlackApp | None:
    """The Slack app's OAuth client (CHATASSIST_SLACK_CLIENT_ID and _SECRET, both or neither), calling back to
    CHATASSIST_PUBLIC_URL; None without them (Slack is then connected by pasting a token)."""
    client_id, secret = (settings.slack_client_id or "").strip(), (settings.slack_client_secret or "").strip()
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        raise SystemExit("Set both CHATASSIST_SLACK_CLIENT_ID and CHATASSIST_SLACK_CLIENT_SECRET (or neither)")
    public_url = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return SlackApp(client_id, secret, public_url + CALLBACK_PATH, settings.slack_authorize_url or AUTHORIZE_URL)


def start_follower(container: Container, enqueue: Callable[[list[tuple[str, str]]], Any] | None) -> FollowingRunner:
    """Run the outbox follower in a background thread (a hot standby until it holds its lock)."""
    settings = container.settings
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    projection = type("IntegrationsFollower", (IntegrationsProjection,), {"public_url": public_url})
    env = {**container.es_env, **SMALL_POOL}
    datastore = container.app.recorder.datastore
    runner = FollowingRunner(
        projection, IntegrationsView, env, datastore=datastore, sessions=container.runner_sessions()
    )
    runner.view.enqueue = enqueue
    container.runners.append(runner.start())
    return runner


def build_deliverer(
    settings: Settings,
    database_url: str,
    threads: int,
    retry_later: Callable[[str, str, float], None] | None,
    app: Any = None,
) -> Deliverer:
    """The deliverer of this worker process (a pool of one connection per worker thread)."""
    config = DeliveryConfig(
        cipher=key_cipher(settings),
        timeout_s=settings.delivery_timeout_s,
        schedule=schedule_of(settings),
        allow_private=settings.integrations_allow_private_urls,
        slack_api_url=settings.slack_api_url,
        hubspot_api_url=settings.hubspot_api_url,
    )

    def on_gone(workspace_id: Any, endpoint_id: str, reason: str) -> None:
        if app is not None:
            disable_endpoint(app, workspace_id, endpoint_id, reason)

    def on_ticket(conversation_id: Any, system: str, ticket_id: str) -> None:
        if app is not None:
            record_ticket(app, conversation_id, system, ticket_id)

    # on the process's shared pool when there is an app (autocommit, dict rows: what the deliverer needs)
    pool = app.recorder.datastore.pool if app is not None and hasattr(app.recorder, "datastore") else None
    oauth = hubspot_app(settings)
    tokens = Context(app, config.cipher, hubspot_api_url=settings.hubspot_api_url, timeout_s=config.timeout_s)

    def fresh_token(workspace_id: Any, system: str) -> str | None:
        if app is None or system != "hubspot":
            return None
        return fresh_access_token(tokens, oauth, workspace_id)

    return Deliverer(
        database_url, config, retry_later, on_gone, on_ticket, pool_size=threads, pool=pool, fresh_token=fresh_token
    ).open()
