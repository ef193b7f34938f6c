"""The error responses of the OpenAPI document: every operation lists the statuses it can really answer, each with
the one error body of web/errors.py (``Error``: ``{"code", "message"}``), instead of Litestar's default
``{status_code, detail}`` 400. Streams and downloads get their real media types.

The statuses are derived from each route handler (its guards, the dependencies it takes, its path parameters, its
request body) plus a small table of what particular handlers add; ``DocumentedJsonRenderPlugin``, the app's
renderer of ``/schema/openapi.json``, rewrites the generated document once, on its first request.
See docs/adr/0032-openapi-error-responses.md."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.response import ServerSentEvent
from litestar.routes import HTTPRoute

from web.guards import signed_in
from web.schemas import ChatReply

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every error response: a stable machine-readable `code` and a sentence a person can act on.",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "description": "Stable code, e.g. invalid_request, not_found, rate_limited."},
        "message": {"type": "string", "description": "What went wrong and what to do about it."},
        "conversation_id": {"type": "string", "description": "POST /api/chat errors after the message was stored."},
        "message_id": {"type": "string", "description": "POST /api/chat errors after the message was stored."},
        "visitor_token": {
            "type": "string",
            "description": "POST /api/chat errors after a new conversation was stored: its visitor token.",
        },
        "published_since": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "409 version_conflict: the prompt versions published since the one the change was based on.",
        },
        "status": {"type": "string", "description": "GET /ready: `unavailable`."},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "GET /ready: each dependency, `ok` or why not.",
        },
        "notices": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "GET /ready: what an operator should look at (a workspace parked for a projection).",
        },
    },
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "string"}},
}
DESCRIPTIONS = {
    400: "The request could not be read: invalid_json, invalid_request (a field is missing or of the wrong type, a "
    "parameter is malformed), json_too_deep.",
    401: "No valid credential: unauthorized / invalid_token (sign in), missing_widget_key / unknown_widget_key, "
    "visitor_token_required (the widget key alone opens no conversation: send X-Visitor-Token).",
    403: "The credential is valid but not enough: permission_denied (the role lacks the permission), the widget's "
    "origin is not allowed, identity verification failed, invalid_visitor_token (not this conversation's "
    "current visitor token).",
    404: "Something the request names does not exist in the caller's workspace (not_found, conversation_not_found, "
    "draft_not_found, ...), or the route does not exist.",
    405: "The method is not allowed on this path.",
    409: "The command is refused in the current state (conflict, version_conflict, conversation_closed, "
    "csat_disabled: the workspace does not collect ratings, ...).",
    410: "The link or token was valid once and is spent or expired.",
    413: "The request body is larger than 64 KiB (body_too_large).",
    422: "The request is well formed but its values are refused: invalid_characters (a text, a query string or the "
    "path holds NUL or a lone surrogate), invalid_input and more specific codes.",
    429: "Too many requests (rate_limited, too_many_attempts, budget_exhausted, ...): wait Retry-After seconds.",
    500: "Something went wrong on our side (internal_error); it has been logged.",
    503: "A dependency is unavailable; nothing was half-written: database_unavailable (PostgreSQL is down, restarting "
    "or busy past the pool's wait, answered within 3 s), redis_unavailable (sessions cannot be checked; the widget's "
    "chat goes on without Redis), providers_unavailable (the AI providers), not_ready (GET /ready). Wait Retry-After "
    "seconds and try again.",
}
# Dependencies that authenticate: their presence means 401 (no or a bad credential) and 403 (not allowed).
WIDGET_DEPENDENCIES = {"widget_workspace", "widget_workspace_id", "transcript_workspace_id"}
MEMBER_DEPENDENCIES = {"current_member", "transcript_workspace_id"}
# What particular operations add to the derived statuses (a sign-in or sign-up throttle, a spent token, ...).
EXTRA_STATUSES: dict[str, set[int]] = {
    "chat": {429, 503},  # rate limits and the budget; providers_unavailable
    "logIn": {401, 429},  # wrong password; too_many_attempts
    "signUp": {429},  # too_many_signups
    "refreshSession": {401},
    "acceptInvite": {401},
    "requestPasswordReset": {429},
    "confirmPasswordReset": {410},
    "runPromptSandbox": {503},
    "ready": {503},
    "diffPromptVersions": {404},  # version_not_found
    "listSlackChannels": {404, 409},  # integration_not_connected; slack_unavailable
}
CHAT_HANDLED: dict[str, Any] = {
    "type": "object",
    "description": "A turn that a person handles: no AI reply (`message_id` null).",
    "required": ["conversation_id", "message_id", "reply_to", "handled_by", "state", "reply"],
    "properties": {
        "conversation_id": {"type": "string"},
        "message_id": {"type": "null"},
        "reply_to": {"type": "string"},
        "handled_by": {"type": "string"},
        "state": {"type": "string"},
        "escalation": {"anyOf": [{"type": "object"}, {"type": "null"}]},
        "reply": {"type": "string", "const": ""},
        "visitor_token": {"type": "string"},
    },
}
TURN_EVENTS = ["start", "delta", "restart", "done", "error"]


def sse(events: list[str] | None = None) -> dict[str, Any]:
    """An event stream: in OpenAPI 3.1 the schema describes each event (its ``data`` is one JSON document)."""
    event: dict[str, Any] = {"type": "string"}
    if events:
        event["enum"] = events
    return {
        "schema": {
            "type": "object",
            "description": "One server-sent event.",
            "required": ["data"],
            "properties": {
                "event": event,
                "data": {"type": "string", "contentMediaType": "application/json"},
                "id": {"type": "string"},
                "retry": {"type": "integer"},
            },
        }
    }


NEVER_UNAVAILABLE = {"health"}  # liveness answers while the process serves, whatever is down
# Media types of the success responses that are not one JSON document.
SUCCESS_CONTENT: dict[str, dict[str, Any]] = {
    "chat": {
        "text/event-stream": sse(TURN_EVENTS),
        "application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ChatReply"}, CHAT_HANDLED]}},
    },
    "runPromptSandbox": {"text/event-stream": sse(TURN_EVENTS), "application/json": {"schema": {"type": "object"}}},
    "exportConversation": {  # audit replay: the events as JSON Lines, or the transcript as Markdown or a PDF
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/markdown": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    },
    "exportConversationsOfRange": {  # every conversation of a date range, the same two formats
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/markdown": {"schema": {"type": "string"}},
    },
    "exportAuditLog": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


def handlers(app: Litestar) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """Every HTTP route handler of the app with its path as OpenAPI writes it and its method (lower case)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    yield route.path_format or "/", method.lower(), handler


def dependency_names(handler: HTTPRouteHandler) -> set[str]:
    """The names a handler takes, with the dependencies its dependencies take (transitively)."""
    provided = handler.resolve_dependencies()
    names, todo = set(), list(handler.parsed_fn_signature.parameters)
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        if name in provided:
            todo.extend(inspect.signature(provided[name].dependency).parameters)
    return names


def statuses(handler: HTTPRouteHandler, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses one operation can answer."""
    operation_id = str(operation.get("operationId"))
    found = {422, 500}  # 422 invalid_characters: every query string is checked
    if operation_id not in NEVER_UNAVAILABLE:
        found.add(503)
    has_body = "requestBody" in operation
    params = operation.get("parameters", [])
    names = dependency_names(handler)
    guards = handler.resolve_guards()
    if has_body or params:
        found.add(400)
    if has_body:
        found.add(413)
    if any(p.get("in") == "path" for p in params):
        found.add(404)
    if method != "get":  # a command: refused in the current state, or naming something that is not there
        found |= {404, 409, 422}
    if guards or names & MEMBER_DEPENDENCIES:
        found |= {401, 429}  # the API rate limit counts signed-in members
        if any(guard is not signed_in for guard in guards):
            found.add(403)
    if names & WIDGET_DEPENDENCIES:
        found |= {401, 403}
    return found | EXTRA_STATUSES.get(operation_id, set())


def error_response(status: int) -> dict[str, Any]:
    """One documented error response."""
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in (429, 503):
        response["headers"] = copy.deepcopy(RETRY_AFTER)
    if status == 503:
        response["headers"]["Retry-After"]["description"] = (
            "Seconds to wait before trying again (sent with database_unavailable, redis_unavailable and not_ready)."
        )
    return response


def document_errors(app: Litestar, document: dict[str, Any]) -> None:
    """Rewrite the app's OpenAPI document in place: the Error component, each operation's error responses, the
    media types of streams and downloads."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = copy.deepcopy(ERROR_SCHEMA)  # each app's document its own (tests build many apps)
    _, reply = msgspec.json.schema_components([ChatReply], ref_template="#/components/schemas/{name}")
    components.update(reply)
    by_route = {(path, method): handler for path, method, handler in handlers(app)}
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            handler = by_route[path, method]
            responses = operation["responses"]
            for code in [c for c in responses if c.startswith(("4", "5"))]:
                del responses[code]  # Litestar's default {status_code, detail} 400
            success = responses.get(next((c for c in responses if c.startswith("2")), ""))
            if success is not None and operation.get("operationId") in SUCCESS_CONTENT:
                success["content"] = copy.deepcopy(SUCCESS_CONTENT[operation["operationId"]])
            elif success is not None and handler.parsed_fn_signature.return_type.annotation is ServerSentEvent:
                success["content"] = {"text/event-stream": sse()}
            for status in sorted(statuses(handler, method, operation)):
                responses[str(status)] = error_response(status)


class DocumentedJsonRenderPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json`` with the errors documented. Litestar builds the document on its first
    request and keeps it; the rewrite is made then, once (building it when the app is created would cost every
    process and every test app a fraction of a second for a page few ask for)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The document as JSON, rewritten the first time."""
        if "Error" not in openapi_schema.get("components", {}).get("schemas", {}):
            document_errors(request.app, openapi_schema)
        return super().render(request, openapi_schema)
