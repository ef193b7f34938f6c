"""Every error leaves as JSON ``{"code": ..., "message": ...}`` with a stable code."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import redis
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from domain.errors import (
    BudgetExhausted,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    Unauthorized,
)

log = logging.getLogger("chatassist.web")

STATUS_BY_TYPE: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (Unauthorized, 401),
    (Forbidden, 403),
    (BudgetExhausted, 429),
]
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape."""
    return {"code": code, "message": message, **extra}


def status_of(exc: DomainError) -> int:
    """HTTP status of a domain error."""
    if exc.code in ("unknown_widget_key", "missing_widget_key"):
        return 401
    return next((status for kind, status in STATUS_BY_TYPE if isinstance(exc, kind)), 400)


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    """Map domain exceptions."""
    return Response(error_body(exc.code, exc.message), status_code=status_of(exc))


def problem_sentence(problem: dict[str, Any]) -> str:
    """One validation problem as a sentence naming the field (``data`` is the body as a whole)."""
    key, text = str(problem.get("key") or "data"), str(problem.get("message") or "is invalid")
    if key == "data" and text == "'data'":  # Litestar's KeyError when there is no body at all
        return "The request body is empty: send a JSON object."
    subject = "The request body" if key == "data" else f"The field `{key}`"
    for prefix, verb in (
        ("Object missing required field ", "is missing the required field "),
        ("Object contains unknown field ", "has an unknown field "),
    ):
        if text.startswith(prefix):
            return f"{subject} {verb}{text[len(prefix) :]}."
    return f"{subject} is invalid: {text[:1].lower()}{text[1:]}."


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Map Litestar's own exceptions (routing, body parsing, validation)."""
    status = exc.status_code
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    code = str(extra.get("code") or CODE_BY_STATUS.get(status, "error"))
    message = str(exc.detail)
    if isinstance(exc.__cause__, SerializationException):  # the body could not be decoded
        code, message = "invalid_json", "The request body is not valid JSON: send a JSON object."
    elif isinstance(exc, ValidationException):
        code, problems = "invalid_request", exc.extra if isinstance(exc.extra, list) else []
        message = " ".join(problem_sentence(p) for p in problems if isinstance(p, dict)) or message
    elif status == 413:
        message = "The request body is too large."
    elif status == 404 and not extra:  # the router found no route
        message = f"There is no endpoint {request.method} {request.url.path}; see the API at /schema."
    elif status == 405:
        allowed = (exc.headers or {}).get("allow", "")
        message = f"{request.method} is not allowed on {request.url.path}; use {allowed}."
    headers = exc.headers or None
    return Response(error_body(code, message), status_code=status, headers=headers)


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: log it (without request data) and say so plainly."""
    log.exception("unhandled error: %s", type(exc).__name__)
    return Response(
        error_body("internal_error", "Something went wrong on our side; it has been logged."), status_code=500
    )


RETRY_AFTER_S = 5  # how long a caller is asked to wait when PostgreSQL or Redis does not answer


class _Once:
    """Logs a dependency's outage once a minute at most, not per request."""

    def __init__(self, name: str) -> None:
        self.name, self.logged_at = name, -60.0

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self.logged_at >= 60:
            self.logged_at = now
            log.error("%s unavailable (%s: %s); answering 503 until it returns", self.name, type(exc).__name__, exc)


DATABASE, REDIS = _Once("PostgreSQL"), _Once("Redis")


def database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """PostgreSQL is down, restarting, or no pooled connection came free in time (CHATASSIST_DB_POOL_TIMEOUT_S)."""
    if isinstance(exc, psycopg.errors.QueryCanceled):  # a statement over CHATASSIST_DB_STATEMENT_TIMEOUT_S
        log.warning("a statement was cancelled by the statement timeout")
    else:
        DATABASE.failed(exc)
    message = "The database is not answering right now; nothing was changed by this request. Try again shortly."
    return Response(
        error_body("database_unavailable", message),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def redis_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Redis (sessions, sign-in throttles) is down: the dashboard waits for it; the widget's chat goes on."""
    REDIS.failed(exc)
    return Response(
        error_body(
            "redis_unavailable", "Sessions cannot be checked right now (Redis is not answering); try again shortly."
        ),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    """JSON nested deeper than the decoder recurses (a few hundred levels): the caller's input, not our fault.
    Any other RecursionError is ours and stays a 500."""
    if "deserializing" not in str(exc):  # msgspec: "maximum recursion depth exceeded while deserializing an object"
        return internal_error(request, exc)
    message = "The request body nests JSON too deeply to be read; send the documented shape (a few levels at most)."
    return Response(error_body("json_too_deep", message), status_code=400)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    HTTPException: http_error,
    RecursionError: too_deep,
    psycopg.OperationalError: database_unavailable,  # PoolTimeout and QueryCanceled among them
    psycopg.InterfaceError: database_unavailable,
    StoreOperationalError: database_unavailable,  # the event store's wrapping of the two
    StoreInterfaceError: database_unavailable,
    redis.ConnectionError: redis_unavailable,
    redis.TimeoutError: redis_unavailable,
    Exception: internal_error,
}
