""" "Add to Slack" in the browser (Admins, ``integrations.manage``): ``GET /api/integrations/slack/install``
sends the Admin to Slack's consent page with a fresh single-use state; Slack sends them back to
``GET /api/integrations/slack/oauth/callback``, which installs and returns to the Integrations page, or shows a
page saying what went wrong and what to do (nothing stored). Browser routes: their errors are pages, not JSON."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from commands.integrations import hubspot_oauth, slack_oauth, zendesk_oauth
from commands.integrations import webhooks as wh
from commands.integrations.oauth_apps import HubSpotApp, SlackApp
from commands.integrations.oauth_state import OAuthStateRefused, PostgresOAuthStateStore
from domain.errors import DomainError, InvalidInput, NotFound
from web.auth import Member
from web.guards import GUARDS
from web.pages._render import html, render

GUARD = [GUARDS["integrations.manage"]]
INSTALLED = "/app/integrations?slack=installed#integrations"
HUBSPOT_DONE = "/app/integrations?hubspot=connected#integrations"
ZENDESK_DONE = "/app/integrations?zendesk=connected#integrations"


def _app(ctx: wh.Context) -> SlackApp:
    if ctx.slack_app is None:
        raise NotFound(
            "Add to Slack is not set up on this installation: set CHATASSIST_SLACK_CLIENT_ID and"
            " CHATASSIST_SLACK_CLIENT_SECRET (docs/integrations.md), or connect Slack with a token on Integrations.",
            code="slack_oauth_not_configured",
        )
    return ctx.slack_app


def _states(ctx: wh.Context) -> PostgresOAuthStateStore:
    return PostgresOAuthStateStore(ctx.app.recorder.datastore.pool, "slack")


def _refused(title: str, exc: DomainError, status: int) -> Response[str]:
    page = render("pages/oauth_result.html.j2", title=title, message=exc.message, code=exc.code, status=status)
    return html(page, status)


@get("/api/integrations/slack/install", guards=GUARD, include_in_schema=False, name="slack-install")
async def slack_install(integrations: wh.Context, current_member: Member) -> Response[str]:
    """A 303 to Slack's consent page for this Admin (a new state, bound to them and their workspace)."""
    app = _app(integrations)
    url = await anyio.to_thread.run_sync(
        slack_oauth.start, app, _states(integrations), current_member.workspace_id, current_member.account_id
    )
    return Response("", status_code=303, headers={"Location": url, "Cache-Control": "no-store"}, media_type="text/html")


@get("/api/integrations/slack/oauth/callback", guards=GUARD, include_in_schema=False, name="slack-callback")
async def slack_callback(
    request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
) -> Response[str]:
    """Slack's answer: the install stored and back to Integrations (to pick the channel), or a page saying why not."""
    app = _app(integrations)
    q = request.query_params
    try:
        await anyio.to_thread.run_sync(
            lambda: slack_oauth.complete(
                integrations, app, _states(integrations), current_member.workspace_id, current_member.account_id,
                q.get("state"), q.get("code"), q.get("error"),
            )
        )  # fmt: skip
    except OAuthStateRefused as exc:
        return _refused("This Slack sign-in cannot be used", exc, 400)
    except slack_oauth.OAuthRefused as exc:
        return _refused("Add to Slack did not finish", exc, 409)
    return Response("", status_code=303, headers={"Location": INSTALLED}, media_type="text/html")


def _hubspot_app(ctx: wh.Context) -> HubSpotApp:
    if ctx.hubspot_app is None:
        raise NotFound(
            "Connect with HubSpot is not set up on this installation: set CHATASSIST_HUBSPOT_CLIENT_ID and"
            " CHATASSIST_HUBSPOT_CLIENT_SECRET (docs/integrations.md), or connect HubSpot with a private app's token.",
            code="hubspot_oauth_not_configured",
        )
    return ctx.hubspot_app


@get("/api/integrations/hubspot/install", guards=GUARD, include_in_schema=False, name="hubspot-install")
async def hubspot_install(integrations: wh.Context, current_member: Member) -> Response[str]:
    """A 303 to HubSpot's consent page for this Admin (a new state, bound to them and their workspace)."""
    app = _hubspot_app(integrations)
    states = PostgresOAuthStateStore(integrations.app.recorder.datastore.pool, "hubspot")
    url = await anyio.to_thread.run_sync(
        hubspot_oauth.start, app, states, current_member.workspace_id, current_member.account_id
    )
    return Response("", status_code=303, headers={"Location": url, "Cache-Control": "no-store"}, media_type="text/html")


@get("/api/integrations/hubspot/oauth/callback", guards=GUARD, include_in_schema=False, name="hubspot-callback")
async def hubspot_callback(
    request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
) -> Response[str]:
    """HubSpot's answer: the tokens stored and back to Integrations, or a page saying why not (nothing stored)."""
    app = _hubspot_app(integrations)
    states = PostgresOAuthStateStore(integrations.app.recorder.datastore.pool, "hubspot")
    q = request.query_params
    try:
        await anyio.to_thread.run_sync(
            lambda: hubspot_oauth.complete(
                integrations, app, states, current_member.workspace_id, current_member.account_id,
                q.get("state"), q.get("code"), q.get("error"),
            )
        )  # fmt: skip
    except OAuthStateRefused as exc:
        return _refused("This HubSpot sign-in cannot be used", exc, 400)
    except slack_oauth.OAuthRefused as exc:
        return _refused("Connect with HubSpot did not finish", exc, 409)
    return Response("", status_code=303, headers={"Location": HUBSPOT_DONE}, media_type="text/html")


@get("/api/integrations/zendesk/install", guards=GUARD, include_in_schema=False, name="zendesk-install")
async def zendesk_install(
    request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
) -> Response[str]:
    """A 303 to the Zendesk account's consent page (``subdomain``, optional ``base_url``; PKCE), or a page saying
    why not (no OAuth client for that subdomain, a malformed one)."""
    q = request.query_params
    states = PostgresOAuthStateStore(integrations.app.recorder.datastore.pool, "zendesk")
    try:
        url = await anyio.to_thread.run_sync(
            lambda: zendesk_oauth.start(
                integrations, integrations.zendesk_apps, states, current_member.workspace_id,
                current_member.account_id, q.get("subdomain") or "", q.get("base_url") or None,
            )
        )  # fmt: skip
    except InvalidInput as exc:
        return _refused("Zendesk cannot be connected this way", exc, 422)
    return Response("", status_code=303, headers={"Location": url, "Cache-Control": "no-store"}, media_type="text/html")


@get("/api/integrations/zendesk/oauth/callback", guards=GUARD, include_in_schema=False, name="zendesk-callback")
async def zendesk_callback(
    request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
) -> Response[str]:
    """Zendesk's answer: the token stored and back to Integrations, or a page saying why not (nothing stored)."""
    states = PostgresOAuthStateStore(integrations.app.recorder.datastore.pool, "zendesk")
    q = request.query_params
    try:
        await anyio.to_thread.run_sync(
            lambda: zendesk_oauth.complete(
                integrations, integrations.zendesk_apps, states, current_member.workspace_id,
                current_member.account_id, q.get("state"), q.get("code"), q.get("error"),
            )
        )  # fmt: skip
    except OAuthStateRefused as exc:
        return _refused("This Zendesk sign-in cannot be used", exc, 400)
    except (slack_oauth.OAuthRefused, InvalidInput) as exc:
        return _refused("Connect with Zendesk did not finish", exc, 409)
    return Response("", status_code=303, headers={"Location": ZENDESK_DONE}, media_type="text/html")


SLACK_INSTALL_PAGES = [
    slack_install,
    slack_callback,
    hubspot_install,
    hubspot_callback,
    zendesk_install,
    zendesk_callback,
]
