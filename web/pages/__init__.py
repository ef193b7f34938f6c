"""The dashboard: server-rendered pages (Jinja templates in web/templates), htmx for the parts that change.

``pages_router`` serves them; errors on a page are pages too (sign in again, not allowed, not found), while the
JSON API keeps its JSON errors.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException

from domain.errors import DomainError, Forbidden, NotFound, Unauthorized
from web.errors import domain_error, http_error
from web.pages._render import html, is_htmx, render
from web.pages.audit_page import AUDIT_SCREENS
from web.pages.integrations_page import integrations_page
from web.pages.knowledge_page import KNOWLEDGE_PAGES
from web.pages.models_page import models
from web.pages.monitor_page import MONITOR_SCREENS
from web.pages.prompts_page import PROMPT_SCREENS
from web.pages.public import PUBLIC_PAGES
from web.pages.screens import SCREENS
from web.pages.settings_page import SETTINGS_PAGES
from web.pages.slack_install import SLACK_INSTALL_PAGES
from web.pages.team_page import TEAM_PAGES

# API keys and models, integrations ("Add to Slack"'s browser routes too), settings
ADMIN_SCREENS = [models, integrations_page, *SETTINGS_PAGES, *SLACK_INSTALL_PAGES]


def _signin_redirect(request: Request[Any, Any, Any]) -> Response[str]:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"/signin?next={quote(path, safe='/')}"
    if is_htmx(request):  # a live update after the session ended: the whole page goes to sign in
        return html("", status_code=401, headers={"HX-Redirect": target})
    return Response("", status_code=303, headers={"Location": target}, media_type="text/html")


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Not signed in: to the sign-in page (and back after). Not allowed or not found: a page saying so."""
    if isinstance(exc, Unauthorized):
        return _signin_redirect(request)
    member = request.state.get("member")
    if isinstance(exc, Forbidden) and request.url.path == "/app" and member is not None and member.can("audit.replay"):
        # an auditor's home is the audit screen (the overview needs analytics.read, which auditors do not hold)
        return Response("", status_code=303, headers={"Location": "/app/audit"}, media_type="text/html")
    if isinstance(exc, Forbidden | NotFound):
        status = 403 if isinstance(exc, Forbidden) else 404
        title = "You can't open this page" if status == 403 else "Not found"
        return html(render("pages/error.html.j2", title=title, message=exc.message, status=status), status)
    if isinstance(exc, DomainError):
        return domain_error(request, exc)
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return html(render("pages/error.html.j2", title="Not found", message=str(exc.detail), status=404), 404)
        return http_error(request, exc)
    raise exc


def pages_router() -> Router:
    """Every page of the dashboard."""
    return Router(
        path="/",
        route_handlers=[
            *PUBLIC_PAGES,
            *SCREENS,
            *MONITOR_SCREENS,
            *PROMPT_SCREENS,
            *ADMIN_SCREENS,
            *TEAM_PAGES,
            *KNOWLEDGE_PAGES,
            *AUDIT_SCREENS,
        ],
        exception_handlers={DomainError: page_error, HTTPException: page_error},
        include_in_schema=False,
    )
