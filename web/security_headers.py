"""Security headers on every response (issue 23, part 5).

- HTML pages of ours (dashboard, sign-in, landing, demo): a Content-Security-Policy that allows only our own scripts,
  styles, images and connections (no inline script or style: the templates have none, htmx's injected indicator
  style is turned off by its config), and no framing.
- The API reference (``/schema``): Litestar's Swagger UI page starts the UI with an inline script, so that page alone
  may run inline code; its scripts still come only from this installation.
- Everything else (JSON, SSE, ``widget.js``): ``default-src 'none'`` (a response rendered as a document can do
  nothing), no framing. ``widget.js`` runs inside customers' pages, under their CSP, not ours: it needs no
  ``unsafe-inline`` there (its styles are a constructed stylesheet in its shadow root).
- All: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``; HSTS only over HTTPS (directly or from a trusted
  proxy, see CHATASSIST_TRUSTED_PROXIES).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def policy_for(path: str, content_type: str) -> str:
    """The Content-Security-Policy of a response."""
    if not content_type.startswith("text/html"):
        return API_POLICY
    return DOCS_POLICY if path.startswith("/schema") else PAGE_POLICY


def security_headers(app: ASGIApp) -> ASGIApp:
    """The middleware (Litestar calls it with the next ASGI app)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message=message)
                content_type = headers.get("content-type") or ""
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = policy_for(scope.get("path", ""), content_type)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
                if content_type.startswith("text/html"):
                    headers["X-Frame-Options"] = "DENY"
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
