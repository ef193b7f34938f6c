"""Seeing the web process run: a request id on every request, latency per route, and ``GET /metrics``.

- Request id: an incoming ``X-Request-ID`` of 1 to 128 letters, digits and ``._:-`` is kept, anything else replaced
  by a new one (32 hex digits); it is set for the request's work (domain/correlation.py: log lines, stored events)
  and returned in the response's ``X-Request-ID``.
- Latency: ``chatassist_http_request_duration_seconds`` by method, route template (``/api/conversations/{id}``, never
  the raw path: a label per URL would grow without bound) and status. A stream counts until its end. Paths that
  match no route are not measured.
- ``GET /metrics``: the process's metrics in Prometheus' text format, for the callers ``MetricsAccess`` admits.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Histogram, generate_latest

from domain.correlation import REQUEST_ID
from web.errors import error_body

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HTTP_LATENCY = Histogram(
    "chatassist_http_request_duration_seconds",
    "HTTP requests by method, route template and status: time to the end of the response (a stream: its end).",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# Prometheus' classic text format, which every Prometheus reads (Litestar adds the charset)
MEDIA_TYPE = "text/plain; version=0.0.4"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def request_id_from(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new id."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def observe_requests(app: ASGIApp) -> ASGIApp:
    """The middleware (Litestar calls it with the next ASGI app): request id, and the route's latency."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        token = REQUEST_ID.set(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            route = scope.get("path_template") or "unmatched"
            HTTP_LATENCY.labels(scope.get("method", ""), route, str(status)).observe(time.perf_counter() - started)
            REQUEST_ID.reset(token)

    return middleware


@dataclass(frozen=True)
class MetricsAccess:
    """Who may read ``/metrics`` on the web port: with a ``token`` (CHATASSIST_METRICS_TOKEN), whoever sends
    ``Authorization: Bearer <token>``; without one, only a loopback peer whose request no proxy forwarded (a
    Prometheus on the same host, or a sidecar); anyone else gets 403 ``metrics_forbidden``."""

    token: str | None = None

    def allows(self, request: Request[Any, Any, Any]) -> bool:
        """True when ``request`` may read the metrics."""
        if self.token:
            sent = request.headers.get("authorization", "")
            scheme, _, credential = sent.partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self.token.encode())
        peer = request.client.host if request.client else ""
        forwarded = any(name in FORWARDED for name, _ in request.scope.get("headers", ()))
        return peer in LOOPBACK and not forwarded


@get(
    "/metrics",
    operation_id="metrics",
    media_type=MEDIA_TYPE,
    include_in_schema=False,  # Prometheus' text format for operators, not an API of the product
)
async def metrics(request: Request[Any, Any, Any], metrics_access: MetricsAccess) -> Response[Any]:
    """This process's metrics (docs/operations.md, "Metrics and logs"): with CHATASSIST_METRICS_TOKEN set, for
    ``Authorization: Bearer <token>``; without, for loopback callers not behind a proxy."""
    if not metrics_access.allows(request):
        message = (
            "The metrics are readable with Authorization: Bearer <CHATASSIST_METRICS_TOKEN>, or from this host"
            " when no token is set."
        )
        return Response(error_body("metrics_forbidden", message), status_code=403, media_type="application/json")
    return Response(generate_latest(REGISTRY), media_type=MEDIA_TYPE)
