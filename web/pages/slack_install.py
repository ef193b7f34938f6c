""" "Add to Slack", "Connect with HubSpot" and "Connect with Zendesk" in the browser (Admins,
``integrations.manage``): ``GET /api/integrations/<provider>/install`` sends the Admin to the provider's consent page
with a fresh single-use state; the provider sends them back to ``GET /api/integrations/<provider>/oauth/callback``,
which stores the grant and returns to the Integrations page, or shows a page saying what went wrong and what to do
(nothing stored). One install and one callback shape over ``PROVIDERS``; each provider's routes keep their own path
and name. Browser routes: their errors are pages, not JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from commands.integrations import hubspot_oauth, slack_oauth, zendesk_oauth
from commands.integrations import webhooks as wh
from commands.integrations.oauth_apps import HubSpotApp, SlackApp
from commands.integrations.oauth_state import OAuthStateRefused, PostgresOAuthStateStore
from domain.errors import DomainError, InvalidInput, NotFound
from web.auth import Member
from web.guards import GUARDS
from web.pages._render import html, render

GUARD = [GUARDS["integrations.manage"]]
App = TypeVar("App")
Query = Mapping[str, Any]
Store = PostgresOAuthStateStore
# (context, the provider's app, states, the signed-in Admin, the query) -> the URL of the provider's consent page
Start = Callable[[wh.Context, Any, Store, Member, Query], str]
# (context, the provider's app, states, workspace, account, state, code, error): the grant stored, or a refusal
Complete = Callable[[wh.Context, Any, Store, UUID, UUID, str | None, str | None, str | None], object]


@dataclass(frozen=True, slots=True)
class Provider:
    """One OAuth provider's install and callback: its app (client) from the context, how the install starts and
    the callback completes, where a finished install lands, and how each refusal reads."""

    key: str  # the path segment, the route names' prefix and the state store's namespace
    app: Callable[[wh.Context], Any]  # NotFound when the installation has no OAuth client for it
    start: Start
    complete: Complete
    done: str  # where a finished install returns to
    state_title: str  # a missing, reused, expired or foreign state (400)
    refused_title: str  # the provider refused (409)
    refused: tuple[type[DomainError], ...] = (slack_oauth.OAuthRefused,)
    install_title: str | None = None  # an install refused before leaving (422); None: the install never refuses


def _set_up(app: App | None, missing: NotFound) -> App:
    """The provider's OAuth client, or ``missing`` (saying how to set it up, or to connect without it)."""
    if app is None:
        raise missing
    return app


def _slack_app(ctx: wh.Context) -> SlackApp:
    return _set_up(ctx.slack_app, NotFound(
        "Add to Slack is not set up on this installation: set CHATASSIST_SLACK_CLIENT_ID and"
        " CHATASSIST_SLACK_CLIENT_SECRET (docs/integrations.md), or connect Slack with a token on Integrations.",
        code="slack_oauth_not_configured",
    ))  # fmt: skip


def _hubspot_app(ctx: wh.Context) -> HubSpotApp:
    return _set_up(ctx.hubspot_app, NotFound(
        "Connect with HubSpot is not set up on this installation: set CHATASSIST_HUBSPOT_CLIENT_ID and"
        " CHATASSIST_HUBSPOT_CLIENT_SECRET (docs/integrations.md), or connect HubSpot with a private app's token.",
        code="hubspot_oauth_not_configured",
    ))  # fmt: skip


def _app_start(start: Callable[[Any, Store, UUID, UUID], str]) -> Start:
    """The start of a provider whose consent page needs only its app (nothing from the query)."""
    return lambda ctx, app, states, m, q: start(app, states, m.workspace_id, m.account_id)


def _zendesk_start(ctx: wh.Context, apps: Any, states: Store, m: Member, q: Query) -> str:
    """Zendesk's: the account's ``subdomain`` and optional ``base_url`` from the query (its client, PKCE)."""
    subdomain, base_url = q.get("subdomain") or "", q.get("base_url") or None
    return zendesk_oauth.start(ctx, apps, states, m.workspace_id, m.account_id, subdomain, base_url)


PROVIDERS = (
    Provider(
        "slack", _slack_app, _app_start(slack_oauth.start), slack_oauth.complete,
        done="/app/integrations?slack=installed#integrations",
        state_title="This Slack sign-in cannot be used",
        refused_title="Add to Slack did not finish",
    ),
    Provider(
        "hubspot", _hubspot_app, _app_start(hubspot_oauth.start), hubspot_oauth.complete,
        done="/app/integrations?hubspot=connected#integrations",
        state_title="This HubSpot sign-in cannot be used",
        refused_title="Connect with HubSpot did not finish",
    ),
    Provider(
        "zendesk", lambda ctx: ctx.zendesk_apps, _zendesk_start, zendesk_oauth.complete,
        done="/app/integrations?zendesk=connected#integrations",
        state_title="This Zendesk sign-in cannot be used",
        refused_title="Connect with Zendesk did not finish",
        refused=(slack_oauth.OAuthRefused, InvalidInput),
        install_title="Zendesk cannot be connected this way",
    ),
)  # fmt: skip


def _refused(title: str, exc: DomainError, status: int) -> Response[str]:
    page = render("pages/oauth_result.html.j2", title=title, message=exc.message, code=exc.code, status=status)
    return html(page, status)


def _see_other(url: str, *, no_store: bool = False) -> Response[str]:
    headers = {"Location": url, "Cache-Control": "no-store"} if no_store else {"Location": url}
    return Response("", status_code=303, headers=headers, media_type="text/html")


def _routes(p: Provider) -> list[HTTPRouteHandler]:
    """The install and callback routes of one provider."""

    def states(ctx: wh.Context) -> Store:
        return Store(ctx.app.recorder.datastore.pool, p.key)

    async def install(
        request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
    ) -> Response[str]:
        """A 303 to the provider's consent page for this Admin (a new state, bound to them and their workspace), or
        a page saying why not."""
        q = request.query_params
        try:
            url = await anyio.to_thread.run_sync(
                lambda: p.start(integrations, p.app(integrations), states(integrations), current_member, q)
            )
        except InvalidInput as exc:
            if p.install_title is None:
                raise
            return _refused(p.install_title, exc, 422)
        return _see_other(url, no_store=True)

    async def callback(
        request: Request[Any, Any, Any], integrations: wh.Context, current_member: Member
    ) -> Response[str]:
        """The provider's answer: the grant stored and back to Integrations, or a page saying why not."""
        q = request.query_params
        try:
            await anyio.to_thread.run_sync(
                lambda: p.complete(
                    integrations, p.app(integrations), states(integrations), current_member.workspace_id,
                    current_member.account_id, q.get("state"), q.get("code"), q.get("error"),
                )
            )  # fmt: skip
        except OAuthStateRefused as exc:
            return _refused(p.state_title, exc, 400)
        except p.refused as exc:
            return _refused(p.refused_title, exc, 409)
        return _see_other(p.done)

    install.__name__ = install.__qualname__ = f"{p.key}_install"
    callback.__name__ = callback.__qualname__ = f"{p.key}_callback"
    base, name = f"/api/integrations/{p.key}", p.key
    return [
        get(f"{base}/install", guards=GUARD, include_in_schema=False, name=f"{name}-install")(install),
        get(f"{base}/oauth/callback", guards=GUARD, include_in_schema=False, name=f"{name}-callback")(callback),
    ]


SLACK_INSTALL_PAGES = [route for p in PROVIDERS for route in _routes(p)]
