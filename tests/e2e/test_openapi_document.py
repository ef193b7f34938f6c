"""The OpenAPI document the server serves tells the truth about errors and media types (what the fuzz test found
undocumented or wrong: Litestar's `{status_code, detail}` 400 that the app never sends, no other error status,
the dashboards' live streams and the audit export documented as JSON)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chatassist.docs_gen import API_PAGE, ROOT, api_reference
from tests.conftest import chat
from tests.support.accounts import sign_up


@pytest.fixture(scope="module")
def document(ai_server: Any) -> dict[str, Any]:
    """The served OpenAPI document."""
    return httpx.get(f"{ai_server.base_url}/schema/openapi.json", timeout=10).json()


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation by its operationId."""
    return {
        op["operationId"]: op for item in document["paths"].values() for op in item.values() if isinstance(op, dict)
    }


def test_every_error_response_is_the_one_error_body(document: dict[str, Any]) -> None:
    # Given the served document
    ops = operations(document)
    # When I look at the error responses of every operation
    errors = {(op_id, code): r for op_id, op in ops.items() for code, r in op["responses"].items() if code[0] in "45"}
    # I expect each to be the Error component ({code, message} required), and Litestar's default shape nowhere
    assert document["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    assert {r["content"]["application/json"]["schema"]["$ref"] for r in errors.values()} == {
        "#/components/schemas/Error"
    }
    assert "status_code" not in str(document["paths"])
    # and every operation documents at least a 500, every guarded one its 401 and 403
    assert all((op_id, "500") in errors for op_id in ops)
    assert {("getAuditLog", "401"), ("getAuditLog", "403"), ("changeSettings", "409")} <= errors.keys()
    assert "Retry-After" in errors["chat", "429"]["headers"]


def test_streams_and_downloads_are_documented_with_their_media_types(document: dict[str, Any]) -> None:
    # Given the served document
    ops = operations(document)
    # I expect the live dashboards as event streams (they were documented as JSON), the export as CSV or JSON
    # Lines, and chat as a stream or, on Accept: application/json, one document
    for op_id in ("streamAnalytics", "streamMonitor", "streamConversationEvents"):
        assert list(ops[op_id]["responses"]["200"]["content"]) == ["text/event-stream"], op_id
    assert set(ops["exportAuditLog"]["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert set(ops["chat"]["responses"]["200"]["content"]) == {"text/event-stream", "application/json"}


def test_a_conversation_export_answers_a_documented_media_type(document: dict[str, Any], client: httpx.Client) -> None:
    # Given an Admin's workspace with one conversation (the fuzz test found its export documented as JSON)
    admin, body = sign_up(client)
    conversation_id = chat(client, body["widget_key"], "How do I reset my password?")[0][1]["conversation_id"]
    documented = operations(document)["exportConversation"]["responses"]["200"]["content"]
    for format_ in ("jsonl", "md"):
        # When the Admin exports it
        response = client.get(
            f"/api/audit/conversations/{conversation_id}/export", params={"format": format_}, headers=admin.headers
        )
        # I expect its media type among the documented ones
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] in documented, response.headers["content-type"]


def test_a_real_error_is_documented_for_its_operation(document: dict[str, Any], client: httpx.Client) -> None:
    # Given an Admin of a workspace
    admin, _ = sign_up(client)
    # When a request is refused for a missing credential, and an invite for a role that does not exist
    anonymous = client.get("/api/audit")
    refused = client.post("/api/team/invites", json={"email": "x@example.com", "role": "nope"}, headers=admin.headers)
    # I expect each status among those the document lists for the operation, with the documented body
    ops = operations(document)
    for op_id, response in (("getAuditLog", anonymous), ("inviteMember", refused)):
        assert str(response.status_code) in ops[op_id]["responses"], (op_id, response.status_code)
        body = response.json()
        assert set(body) >= {"code", "message"} and all(isinstance(body[k], str) for k in ("code", "message"))


def test_the_api_reference_page_is_the_served_document(document: dict[str, Any]) -> None:
    # Given the served document, I expect docs/api-reference.md to be what it says, operation by operation
    committed = (ROOT / API_PAGE).read_text(encoding="utf-8")
    assert committed == api_reference(document), (
        "regenerate it: chatassist docs generate --openapi http://127.0.0.1:8000/schema/openapi.json (a running server)"
    )
