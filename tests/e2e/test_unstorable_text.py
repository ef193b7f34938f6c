"""A text a view cannot store (a NUL; msgspec already refuses lone surrogates as invalid JSON) is refused at the
boundary with a 422 ``invalid_characters`` naming the field, and nothing is written: through the real server, on
every endpoint that takes a JSON body (walked from the OpenAPI schema, so a new endpoint is covered or fails here).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from chatassist.bootstrap import Container
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import chat
from tests.support.accounts import Person, sign_up
from tests.support.server import ThreadedServer
from tests.support.visitors import widget_headers
from web.request import CheckedRequest, check_query

NUL = "\x00"


def assert_refused(response: httpx.Response, field: str) -> None:
    """A 422 ``invalid_characters`` whose message names ``field`` and the character."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"code", "message"}, body
    assert body["code"] == "invalid_characters", body
    assert f"`{field}`" in body["message"] and "U+0000 (NUL)" in body["message"], body
    assert body["message"].endswith("."), body


def post_chat(client: httpx.Client, widget_key: str, body: Any) -> httpx.Response:
    """POST /api/chat with a JSON body and the widget key."""
    headers = {"X-Widget-Key": widget_key, "Accept": "text/event-stream", "Content-Type": "application/json"}
    return client.post("/api/chat", content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": f"hi {NUL} x", "user": {"id": "v"}}, "message"),
        ({"message": "hi", "user": {"id": f"v{NUL}"}}, "user.id"),
        ({"message": "hi", "user": {"id": "v", "name": f"Ann{NUL}"}}, "user.name"),
        ({"message": "hi", "user": {"id": "v", f"e{NUL}": "x"}}, "user.e"),
    ],
    ids=["message", "visitor-id", "visitor-name", "a-key"],
)
def test_the_poison_message_is_refused_by_the_real_server_and_nothing_is_stored(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, body: Any, field: str
) -> None:
    # Given a workspace's public widget key and the store's position
    before = container.app.recorder.max_notification_id()
    # When a visitor posts a chat message whose text holds a NUL
    response = post_chat(client, workspace.widget_key, body)
    # I expect a 422 naming the field, and no event stored
    assert_refused(response, field)
    assert container.app.recorder.max_notification_id() == before
    # and the same visitor's clean message still answered
    assert chat(client, workspace.widget_key, "How do I reset my password?")[-1][0] == "done"


def test_a_nul_deep_in_a_nested_body_is_refused_not_a_500(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a chat body whose visitor carries an extra field nested 800 levels deep, a NUL at the bottom
    deep: Any = f"x{NUL}"
    for _ in range(800):
        deep = {"a": deep}
    before = container.app.recorder.max_notification_id()
    # When it is posted
    response = post_chat(client, workspace.widget_key, {"message": "hi", "user": {"id": "v", "extra": deep}})
    # I expect the 422 naming the field's path (shortened), and nothing stored
    assert response.status_code == 422 and response.json()["code"] == "invalid_characters", response.text
    assert "`user.extra.a.a." in response.json()["message"]
    assert container.app.recorder.max_notification_id() == before


def test_a_nul_in_the_query_string_is_refused(client: httpx.Client) -> None:
    # Given a signed-in admin
    admin, _ = sign_up(client, workspace="Query")
    # When a query parameter holds a NUL (percent-encoded)
    response = client.get("/api/audit?kind=workspace.created%00x", headers=admin.headers)
    # I expect a 422 naming it, before the handler reads it
    assert_refused(response, "kind")


def served_app(server: ThreadedServer) -> Litestar:
    """The Litestar app a test server runs."""
    app = server.server.config.app
    assert isinstance(app, Litestar)
    return app


def test_every_route_decodes_its_body_through_the_checked_request(ai_server: ThreadedServer) -> None:
    # Given the app the server runs, every route handler of it
    handlers = [h for r in served_app(ai_server).routes if isinstance(r, HTTPRoute) for h in r.route_handlers]
    assert len(handlers) > 40
    # I expect each to decode its request with CheckedRequest and to run check_query first (a layer that set its
    # own request class or before_request hook would replace them, and be caught here)
    wrong = [
        f"{sorted(h.http_methods)} {h.paths}"
        for h in handlers
        if h.resolve_request_class() is not CheckedRequest or h.resolve_before_request() is not check_query
    ]
    assert wrong == []


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` (into components) followed."""
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    for key in ("oneOf", "anyOf"):
        for option in node.get(key, ()):
            if resolve(schema, option).get("type") == "object":
                return resolve(schema, option)
    return node


def string_field(schema: dict[str, Any], body: dict[str, Any]) -> str:
    """The name of the first text property of a request body's schema (``probe`` when it has none)."""
    for name, prop in resolve(schema, body).get("properties", {}).items():
        prop = resolve(schema, prop)
        if prop.get("type") == "string" or "string" in (o.get("type") for o in prop.get("anyOf", ())):
            return str(name)
    return "probe"


def test_every_endpoint_with_a_json_body_refuses_a_nul_in_it(
    client: httpx.Client, container: Container, ai_server: ThreadedServer
) -> None:
    # Given an admin of a new workspace (all permissions), its widget key, and a conversation of it
    admin: Person
    admin, body = sign_up(client, workspace="Unstorable")
    widget_key = body["widget_key"] if "widget_key" in body else body["workspace"]["widget_key"]
    conversation_id = chat(client, widget_key, "How do I reset my password?")[0][1]["conversation_id"]
    container.wait_for_projections()
    headers = {**admin.headers, **widget_headers(widget_key, conversation_id), "Accept": "application/json"}
    schema = client.get("/schema/openapi.json").json()
    values = {"conversation_id": conversation_id, "account_id": admin.account_id, "provider": "openai"}
    before = container.app.recorder.max_notification_id()
    # When every operation that takes a JSON body is called with a NUL in a text field of it
    probed, answers = 0, {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            field = string_field(schema, content["application/json"]["schema"])
            url = re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), uuid.uuid4())), path)
            if "{version}" in path or "{draft_id}" in path:
                url = path.replace("{version}", "1").replace("{draft_id}", "d1")
                url = re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), uuid.uuid4())), url)
            response = client.request(method.upper(), url, json={field: f"a{NUL}b"}, headers=headers)
            answers[f"{method.upper()} {path}"] = (response.status_code, response.json().get("code"), field)
            probed += 1
    # I expect each refused with 422 invalid_characters naming the field, and nothing written
    assert probed >= 20, answers
    wrong = {k: v for k, v in answers.items() if v[:2] != (422, "invalid_characters")}
    assert wrong == {}
    assert container.app.recorder.max_notification_id() == before
