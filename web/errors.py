"""Every error leaves as JSON ``{"code": ..., "message": ...}`` with a stable code."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain.errors import BudgetExhausted, Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized

log = logging.getLogger("chatassist.web")

STATUS_BY_TYPE: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422), (NotFound, 404), (Conflict, 409), (Unauthorized, 401), (Forbidden, 403),
    (BudgetExhausted, 429),
]
CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 413: "body_too_large", 415: "unsupported_media_type",
                  422: "invalid_input", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}


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


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Map Litestar's own exceptions (routing, body parsing, validation)."""
    status = exc.status_code
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    code = str(extra.get("code") or CODE_BY_STATUS.get(status, "error"))
    message = str(exc.detail)
    if isinstance(exc, ValidationException):
        code, problems = "invalid_request", exc.extra if isinstance(exc.extra, list) else []
        if "JSON" in message or "decode" in message.lower() or "malformed" in message.lower():
            code, message = "invalid_json", "The request body is not valid JSON."
        elif problems:
            message = "; ".join(f"{p.get('key', 'body')}: {p.get('message')}" for p in problems
                                if isinstance(p, dict)) or message
    elif status == 413:
        message = "The request body is too large."
    headers = exc.headers or None
    return Response(error_body(code, message), status_code=status, headers=headers)


def internal_error(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: log it (without request data) and say so plainly."""
    log.exception("unhandled error: %s", type(exc).__name__)
    return Response(error_body("internal_error", "Something went wrong on our side; it has been logged."),
                    status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error, HTTPException: http_error, Exception: internal_error,
}
