"""POST /api/chat refuses bad input with a stable JSON error, before anything is written.

Every case: the exact status, a body ``{"code": ..., "message": ...}`` whose message is a sentence a
person can act on, and no new event in the store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from commands.create_workspace import cmd as create_ws
from commands.create_workspace.cmd import WorkspaceCreated
from domain.conversation import MAX_MESSAGE_CHARS
from tests.conftest import chat
from tests.support.visitors import token_of, widget_headers
from web.app import MAX_BODY_BYTES

VALID = {"message": "How do I reset my password?", "user": {"id": "visitor-1"}}


@contextmanager
def nothing_written(container: Container) -> Iterator[None]:
    """Assert that the block stores no event at all."""
    before = container.app.recorder.max_notification_id()
    yield
    assert container.app.recorder.max_notification_id() == before, "a refused request wrote an event"


def post_chat(
    client: httpx.Client,
    widget_key: str | None,
    *,
    body: Any = None,
    raw: bytes | None = None,
    visitor_token: str | None = None,
) -> httpx.Response:
    """POST /api/chat with a JSON body (or raw bytes) and the widget key and visitor token, if any."""
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if widget_key is not None:
        headers["X-Widget-Key"] = widget_key
    if visitor_token is not None:
        headers["X-Visitor-Token"] = visitor_token
    content = raw if raw is not None else json.dumps(body).encode()
    return client.post("/api/chat", content=content, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    """The response is a JSON error with this status and code and a readable message; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == code, body
    message = body["message"]
    assert isinstance(message, str) and len(message.split()) >= 4, body
    assert message.rstrip().endswith("."), body
    return str(message)


def with_(**changes: Any) -> dict[str, Any]:
    """The valid body with some fields replaced (a value of ``...`` removes the field)."""
    body = {**VALID, **changes}
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(
    ("raw", "code", "mentions"),
    [
        (b'{"message": "hi", "user": {"id": "v"}', "invalid_json", "JSON"),
        (b"{not json}", "invalid_json", "JSON"),
        (b"", "invalid_request", "empty"),
        (b'["How do I reset my password?"]', "invalid_request", "object"),
        (b"null", "invalid_request", "object"),
    ],
    ids=["truncated-json", "not-json", "empty-body", "array", "null"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.Client,
    workspace: WorkspaceCreated,
    container: Container,
    raw: bytes,
    code: str,
    mentions: str,
) -> None:
    # Given a valid widget key
    # When the body is not a JSON object
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, raw=raw)
    # I expect a 400 saying what is wrong with the body
    assert mentions in assert_error(response, 400, code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_(message=...), "`message`"),
        (with_(message=42), "`message`"),
        (with_(message=["hi"]), "`message`"),
        (with_(user=...), "`user`"),
        (with_(user="visitor-1"), "`user`"),
        (with_(user={}), "`id`"),
        (with_(user={"id": ""}), "`user.id`"),
        (with_(user={"id": "u" * 201}), "`user.id`"),
        (with_(user={"id": 7}), "`user.id`"),
        (with_(user={"id": "v", "email": "e" * 321}), "`user.email`"),
        (with_(user={"id": "v", "role": "admin"}), "`role`"),
        (with_(foo="bar"), "`foo`"),
        (with_(conversation_id=12), "`conversation_id`"),
    ],
    ids=[
        "missing-message",
        "message-int",
        "message-list",
        "missing-user",
        "user-string",
        "user-without-id",
        "user-id-empty",
        "user-id-too-long",
        "user-id-int",
        "email-too-long",
        "unknown-user-field",
        "unknown-field",
        "conversation-id-int",
    ],
)
def test_a_body_of_the_wrong_shape_is_a_400_naming_the_field(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, body: dict[str, Any], field: str
) -> None:
    # Given a valid widget key
    # When the JSON object lacks a field, has a value of the wrong type or length, or an unknown field
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, body=body)
    # I expect a 400 invalid_request whose message names the offending field
    assert field in assert_error(response, 400, "invalid_request")


@pytest.mark.parametrize("message", ["", "   ", "\n\t \n"], ids=["empty", "spaces", "whitespace"])
def test_an_empty_message_is_a_422(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, message: str
) -> None:
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, body=with_(message=message))
    assert_error(response, 422, "empty_message")


def test_an_empty_message_to_an_existing_conversation_is_a_422(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a conversation with one turn
    conversation_id = chat(client, workspace.widget_key, "Hello")[0][1]["conversation_id"]
    # When the visitor sends a blank follow-up
    with nothing_written(container):
        response = post_chat(
            client,
            workspace.widget_key,
            body=with_(message=" ", conversation_id=conversation_id),
            visitor_token=token_of(conversation_id),
        )
    # I expect the same 422 as for a new conversation
    assert_error(response, 422, "empty_message")


def test_a_message_over_the_limit_is_a_422_and_one_at_the_limit_is_answered(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # When the message is one character over 4,000
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, body=with_(message="x" * (MAX_MESSAGE_CHARS + 1)))
    # I expect a 422 that states the limit
    assert "4000" in assert_error(response, 422, "message_too_long")
    # and a message of exactly 4,000 characters is accepted
    events = chat(client, workspace.widget_key, "y" * MAX_MESSAGE_CHARS)
    assert events[-1][0] == "done"


def test_a_missing_widget_key_is_a_401(client: httpx.Client, container: Container) -> None:
    with nothing_written(container):
        response = post_chat(client, None, body=VALID)
    assert "X-Widget-Key" in assert_error(response, 401, "missing_widget_key")


def test_a_blank_widget_key_counts_as_missing(client: httpx.Client, container: Container) -> None:
    with nothing_written(container):
        response = post_chat(client, "", body=VALID)
    assert_error(response, 401, "missing_widget_key")


@pytest.mark.parametrize(
    "key",
    ["wk_does-not-exist", "wk_" + "a" * 300, "not a key at all"],
    ids=["unknown", "very-long", "garbage"],
)
def test_an_unknown_widget_key_is_a_401(client: httpx.Client, container: Container, key: str) -> None:
    with nothing_written(container):
        response = post_chat(client, key, body=VALID)
    assert_error(response, 401, "unknown_widget_key")


@pytest.mark.parametrize(
    "conversation_id",
    ["abc", "123", "00000000-0000-0000-0000", ""],
    ids=["word", "number", "truncated-uuid", "empty"],
)
def test_a_conversation_id_that_is_not_a_uuid_is_a_422(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, conversation_id: str
) -> None:
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, body=with_(conversation_id=conversation_id))
    assert_error(response, 422, "invalid_conversation_id")


def test_an_unknown_conversation_is_a_404(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, body=with_(conversation_id=str(uuid.uuid4())))
    assert_error(response, 404, "conversation_not_found")


def test_another_workspaces_conversation_looks_exactly_like_an_unknown_one(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a conversation in another workspace, by a visitor with the same user id
    other = create_ws.execute(container.app, create_ws.CreateWorkspace("Other Inc"))
    theirs = chat(client, other.widget_key, "Hello")[0][1]["conversation_id"]
    unknown = str(uuid.uuid4())
    # When this workspace's widget posts to it, and to an id that does not exist
    with nothing_written(container):
        to_theirs = post_chat(client, workspace.widget_key, body=with_(conversation_id=theirs))
        to_unknown = post_chat(client, workspace.widget_key, body=with_(conversation_id=unknown))
    # I expect the same 404, with nothing that tells the two apart but the id itself
    assert_error(to_theirs, 404, "conversation_not_found")
    assert_error(to_unknown, 404, "conversation_not_found")
    assert to_theirs.json()["message"].replace(theirs, "ID") == to_unknown.json()["message"].replace(unknown, "ID")


def test_another_visitors_conversation_in_the_same_workspace_is_refused_without_its_token(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given visitor-1's conversation
    conversation_id = chat(client, workspace.widget_key, "Hello", user_id="visitor-1")[0][1]["conversation_id"]
    # When visitor-2 of the same workspace posts to it, with no visitor token or with one of their own making
    with nothing_written(container):
        bare = post_chat(
            client, workspace.widget_key, body=with_(conversation_id=conversation_id, user={"id": "visitor-2"})
        )
        made_up = post_chat(
            client,
            workspace.widget_key,
            body=with_(conversation_id=conversation_id, user={"id": "visitor-2"}),
            visitor_token="vt_" + "A" * 43,
        )
    # I expect a 401 asking for the token, then a 403 refusing that one
    assert "X-Visitor-Token" in assert_error(bare, 401, "visitor_token_required")
    assert_error(made_up, 403, "invalid_visitor_token")


def test_a_closed_conversation_is_a_409(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a conversation the visitor closed
    conversation_id = chat(client, workspace.widget_key, "Hello")[0][1]["conversation_id"]
    closed = client.post(
        f"/api/conversations/{conversation_id}/close", headers=widget_headers(workspace.widget_key, conversation_id)
    )
    assert closed.status_code == 200, closed.text
    # When the visitor sends another message to it
    with nothing_written(container):
        response = post_chat(
            client,
            workspace.widget_key,
            body=with_(conversation_id=conversation_id),
            visitor_token=token_of(conversation_id),
        )
    # I expect a 409 telling them to start a new conversation
    assert "new one" in assert_error(response, 409, "conversation_closed")


def test_a_body_over_64_kib_is_a_413(client: httpx.Client, workspace: WorkspaceCreated, container: Container) -> None:
    # Given a body just over the limit, sent with a Content-Length
    body = json.dumps(with_(message="x" * MAX_BODY_BYTES)).encode()
    assert len(body) > MAX_BODY_BYTES
    with nothing_written(container):
        response = post_chat(client, workspace.widget_key, raw=body)
    # I expect a 413 before the body is parsed
    assert_error(response, 413, "body_too_large")


def test_a_chunked_body_over_64_kib_is_a_413(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given the same oversized body streamed without a Content-Length
    body = json.dumps(with_(message="x" * MAX_BODY_BYTES)).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 8192):
            yield body[i : i + 8192]

    with nothing_written(container):
        response = client.post(
            "/api/chat",
            content=chunks(),
            headers={"Content-Type": "application/json", "X-Widget-Key": workspace.widget_key},
        )
    # I expect the limit to hold all the same
    assert_error(response, 413, "body_too_large")


def test_an_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/api/nope")
    assert "/api/nope" in assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wrong_method_is_a_json_405(client: httpx.Client, method: str) -> None:
    response = client.request(method, "/api/chat")
    message = assert_error(response, 405, "method_not_allowed")
    # naming the method that is allowed, also in the Allow header
    assert "POST" in message and "POST" in response.headers["allow"]


@pytest.mark.parametrize("path", ["/api/chat", "/api/auth/login", "/api/auth/signup"])
def test_json_nested_a_thousand_levels_deep_is_a_400_not_a_crash(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, path: str
) -> None:
    # Given bodies nested 1,000 levels deep, anonymous (sign-in, sign-up) or with the public widget key (chat)
    deep = b'{"message": "hi", "user": ' + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"}"
    headers = {"Content-Type": "application/json", "X-Widget-Key": workspace.widget_key}
    with nothing_written(container):
        response = client.post(path, content=deep, headers=headers)
    # I expect a 400 that says what is wrong, not a 500 with a traceback
    assert "deeply" in assert_error(response, 400, "json_too_deep")


def test_every_response_carries_the_security_headers(client: httpx.Client) -> None:
    # Given a JSON endpoint, a page of ours and the API reference
    api, page, docs = client.get("/health"), client.get("/signin"), client.get("/schema/swagger")
    # I expect nosniff and a referrer policy everywhere, no framing, and a CSP fit for each kind of response
    for response in (api, page, docs):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    page_csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in page_csp and "unsafe-inline" not in page_csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in page.headers  # plain HTTP here: HSTS only over HTTPS
