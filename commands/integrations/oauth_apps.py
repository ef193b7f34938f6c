"""The OAuth clients of the install flows ("Add to Slack"), from the environment: what the commands' Context
carries (here, not in the flow's module, so that the Context has no import cycle)."""

from __future__ import annotations

from dataclasses import dataclass, field

SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"


@dataclass(frozen=True)
class SlackApp:
    """The Slack app's OAuth client (CHATASSIST_SLACK_CLIENT_ID / _SECRET) and where Slack sends the Admin back."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str  # <CHATASSIST_PUBLIC_URL>/api/integrations/slack/oauth/callback
    authorize_url: str = SLACK_AUTHORIZE_URL  # Slack's, or the tests' fake authorization server


HUBSPOT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"


@dataclass(frozen=True)
class HubSpotApp:
    """HubSpot's public app OAuth client (CHATASSIST_HUBSPOT_CLIENT_ID / _SECRET); tokens are exchanged, refreshed
    and revoked at CHATASSIST_HUBSPOT_API_URL (default https://api.hubapi.com) ``/oauth/v1/...``."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str  # <CHATASSIST_PUBLIC_URL>/api/integrations/hubspot/oauth/callback
    authorize_url: str = HUBSPOT_AUTHORIZE_URL


@dataclass(frozen=True)
class ZendeskClient:
    """One Zendesk account's OAuth client (Zendesk registers clients per account: Admin Center → Apps and
    integrations → APIs → OAuth Clients)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class ZendeskApps:
    """The OAuth clients by Zendesk subdomain (CHATASSIST_ZENDESK_OAUTH_CLIENTS) and the callback URL."""

    clients: dict[str, ZendeskClient] = field(repr=False)
    redirect_uri: str  # <CHATASSIST_PUBLIC_URL>/api/integrations/zendesk/oauth/callback


def parse_zendesk_clients(raw: str) -> dict[str, ZendeskClient]:
    """``subdomain=client_id:client_secret`` pairs separated by commas; ValueError naming the bad entry."""
    clients: dict[str, ZendeskClient] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        subdomain, _, pair = entry.partition("=")
        client_id, _, secret = pair.partition(":")
        if not subdomain.strip() or not client_id.strip() or not secret.strip():
            raise ValueError(f"entry {subdomain.strip() or '?'}: write subdomain=client_id:client_secret")
        clients[subdomain.strip().lower()] = ZendeskClient(client_id.strip(), secret.strip())
    return clients
