"""Pages anyone may open: the landing page, the widget demo, sign in, sign up, password reset, accept invite.

The forms post JSON to the existing auth endpoints (web/static/app.js): the API sets the HttpOnly session cookie
and its error sentence is shown next to the field it concerns. Nothing here signs anyone in by itself.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import QueryParameter

from read_api._reads import AsyncReader
from read_api.get_installation.query import Installation, plan_installation
from web.auth import SESSION_COOKIE
from web.pages._render import html, render

log = logging.getLogger("chatassist.web.pages")
SAFE_NEXT_PREFIX = "/app"
FIGURES_CACHE_S = 60.0  # the landing page's figures: one scan of 30 days of conversations a minute at most
_figures: list[tuple[float, Installation]] = []


async def installation_figures(reader: AsyncReader) -> Installation | None:
    """This installation's figures of the last 30 days (kept a minute); None when they cannot be read."""
    now = time.monotonic()
    if _figures and now - _figures[0][0] < FIGURES_CACHE_S:
        return _figures[0][1]
    try:
        figures = await reader.run(plan_installation())
    except Exception:  # the landing page works without its figures (a database hiccup, no analytics view yet)
        log.warning("landing page: the installation's figures could not be read", exc_info=True)
        return None
    _figures[:] = [(now, figures)]
    return figures


def safe_next(raw: str | None) -> str:
    """Where to go after signing in: a path of the dashboard only (never another site)."""
    if raw and raw.startswith(SAFE_NEXT_PREFIX) and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/app"


@get("/", include_in_schema=False, name="landing")
async def landing(request: Request[Any, Any, Any], reader: AsyncReader) -> Response[str]:
    """What ChatAssist is, what this installation's last 30 days show, "Sign in" and "Start your free trial"."""
    note: str = request.app.state.get("mode_note", "")
    signed_in = bool(request.cookies.get(SESSION_COOKIE))
    figures = await installation_figures(reader)
    return html(render("pages/landing.html.j2", mode_note=note, signed_in=signed_in, figures=figures))


@get("/signin", include_in_schema=False, name="signin")
async def signin(next_: Annotated[str | None, QueryParameter(name="next")] = None) -> Response[str]:
    """The sign-in form (POST /api/auth/login)."""
    return html(render("pages/signin.html.j2", next=safe_next(next_)))


@get("/signup", include_in_schema=False, name="signup")
async def signup() -> Response[str]:
    """The sign-up form (POST /api/auth/signup): a 14-day trial workspace."""
    return html(render("pages/signup.html.j2"))


@get("/reset-password", include_in_schema=False, name="reset_password")
async def reset_password(token: str | None = None) -> Response[str]:
    """Without a token: ask for a reset link; with the link's token: choose a new password."""
    return html(render("pages/reset_password.html.j2", token=token or ""))


@get("/accept-invite", include_in_schema=False, name="accept_invite")
async def accept_invite(token: str | None = None) -> Response[str]:
    """Join a workspace with the invite's token (POST /api/team/invites/accept)."""
    return html(render("pages/accept_invite.html.j2", token=token or ""))


PUBLIC_PAGES = [landing, signin, signup, reset_password, accept_invite]
