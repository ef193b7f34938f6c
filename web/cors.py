"""CORS that honours each workspace's allowed widget origins.

Litestar's global CORS config can only say "these origins" for the whole app, but which sites may embed a
widget is a per-workspace setting known only once the widget key has been read. So:

- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered for any origin: it carries no
  widget key, and it only tells the browser which methods and headers it may send;
- on the actual request, the widget dependency checks the ``Origin`` and records its verdict in the
  connection state (``WIDGET_ORIGIN``); this middleware then sets ``Access-Control-Allow-Origin`` to the
  request's origin when the origin is allowed by the workspace's list, omits it when it was refused (the
  403 ``origin_not_allowed`` cannot even be read by the foreign page), and keeps ``*`` for every other
  response (no list, or not a widget endpoint).
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

WIDGET_ORIGIN = "chatassist.widget_origin"
ALLOWED, REFUSED = "allowed", "refused"
ALLOW_HEADERS = "Accept, Authorization, Content-Type, X-User-Id, X-User-Signature, X-Visitor-Token, X-Widget-Key"
ALLOW_METHODS = "DELETE, GET, OPTIONS, PATCH, POST"
MAX_AGE = "600"


def widget_cors(app: ASGIApp) -> ASGIApp:
    """The middleware (Litestar calls it with the next ASGI app)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        origin = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"origin"), None)
        if origin is None:
            await app(scope, receive, send)
            return
        requested = any(k == b"access-control-request-method" for k, _ in scope["headers"])
        if scope.get("method") == "OPTIONS" and requested:
            await preflight(origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message=message)
                state: dict[str, Any] = scope.get("state") or {}
                verdict = state.get(WIDGET_ORIGIN)
                if verdict == ALLOWED:
                    headers["Access-Control-Allow-Origin"] = origin
                    headers["Vary"] = "Origin"
                elif verdict != REFUSED:
                    headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = "Retry-After"
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware


async def preflight(origin: str, send: Send) -> None:
    """204 allowing the origin to send the widget's methods and headers (the request itself is checked later)."""
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
        (b"access-control-max-age", MAX_AGE.encode()),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
