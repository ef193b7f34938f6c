"""End to end: the transcript, CSAT / resolve / close, the ops endpoints and the offline answerer."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import httpx

from chatassist.bootstrap import Container
from commands.ai.offline import NO_MATCH
from commands.create_workspace import cmd as create_ws
from commands.create_workspace.cmd import WorkspaceCreated
from commands.create_workspace.defaults import DEFAULT_KNOWLEDGE
from domain.retrieval import count_tokens
from tests.conftest import chat, event_names
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.visitors import widget_headers

RESET_ARTICLE = next(a for a in DEFAULT_KNOWLEDGE if a["title"] == "Reset your password")


def key(widget_key: str, conversation_id: str) -> dict[str, str]:
    """The widget's headers about one of its conversations: the key and the conversation's visitor token."""
    return widget_headers(widget_key, conversation_id)


def start_conversation(client: httpx.Client, widget_key: str, message: str = "Hello there") -> str:
    """One turn; returns the new conversation id."""
    return str(chat(client, widget_key, message)[0][1]["conversation_id"])


def get_transcript(client: httpx.Client, widget_key: str, conversation_id: str) -> dict[str, Any]:
    """GET the transcript, asserting a 200."""
    response = client.get(f"/api/conversations/{conversation_id}", headers=key(widget_key, conversation_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def post_action(
    client: httpx.Client,
    widget_key: str,
    conversation_id: str,
    action: str,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST /api/conversations/{id}/{action}."""
    return client.post(
        f"/api/conversations/{conversation_id}/{action}", json=body, headers=key(widget_key, conversation_id)
    )


def test_the_transcript_shows_both_turns_in_order(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given two turns answered by the provider
    fake_llm.enqueue("anthropic", Script(text="Open Settings, then Billing."), Script(text="Yes, under Invoices."))
    conversation_id = start_conversation(client, workspace.widget_key, "Where is billing?")
    chat(client, workspace.widget_key, "Can I get a PDF invoice?", conversation_id=conversation_id)
    container.wait_for_projections()
    # When the widget reads the conversation
    transcript = get_transcript(client, workspace.widget_key, conversation_id)
    # I expect the four messages in order, with who said what
    assert transcript["id"] == conversation_id
    assert (transcript["status"], transcript["channel"], transcript["turns"], transcript["csat"]) == (
        "open",
        "widget",
        2,
        None,
    )
    messages = transcript["messages"]
    assert [(m["role"], m["text"]) for m in messages] == [
        ("user", "Where is billing?"),
        ("assistant", "Open Settings, then Billing."),
        ("user", "Can I get a PDF invoice?"),
        ("assistant", "Yes, under Invoices."),
    ]
    # and each assistant message names its model and answers the user message before it
    for question, answer in (messages[0:2], messages[2:4]):
        assert (answer["provider"], answer["model"]) == ("anthropic", "claude-sonnet-4-6")
        assert answer["reply_to"] == question["message_id"] and answer["error_code"] is None
        assert 0 <= answer["confidence"] <= 1 and answer["prompt_version"] >= 1
        assert question["provider"] is None and question["model"] is None
    assert transcript["topic"] == "Billing"
    assert transcript["started_at"] <= transcript["last_activity_at"]


def test_the_transcript_is_private_to_its_workspace(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a projected conversation
    conversation_id = start_conversation(client, workspace.widget_key)
    container.wait_for_projections()
    other = create_ws.execute(container.app, create_ws.CreateWorkspace("Other Inc"))
    # When another workspace's widget reads it
    foreign = client.get(f"/api/conversations/{conversation_id}", headers=key(other.widget_key, conversation_id))
    # I expect a 404 just like for an unknown id
    assert foreign.status_code == 404
    assert foreign.json() == {
        "code": "conversation_not_found",
        "message": f"No conversation with id {conversation_id}.",
    }
    # and without any key, a 401
    anonymous = client.get(f"/api/conversations/{conversation_id}")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "missing_widget_key"


def test_csat_resolve_and_close(client: httpx.Client, workspace: WorkspaceCreated, container: Container) -> None:
    # Given a conversation with one answered turn
    conversation_id = start_conversation(client, workspace.widget_key)
    ws = workspace.widget_key
    # When the visitor rates it 5
    rated = post_action(client, ws, conversation_id, "csat", {"score": 5})
    # I expect a 200 and a CsatRated event
    assert rated.status_code == 200 and rated.json() == {"ok": True}
    assert event_names(container, conversation_id)[-1] == "CsatRated"

    # When the score is out of range
    for score in (0, 6, -1):
        before = container.app.recorder.max_notification_id()
        refused = post_action(client, ws, conversation_id, "csat", {"score": score})
        # I expect a 422 invalid_csat and nothing written
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_csat" and "1 to 5" in refused.json()["message"]
        assert container.app.recorder.max_notification_id() == before

    # When the visitor says it is resolved, twice
    for _ in range(2):
        assert post_action(client, ws, conversation_id, "resolve").status_code == 200
    # I expect one Resolved event
    assert Counter(event_names(container, conversation_id))["Resolved"] == 1

    # When the visitor closes it, twice
    for _ in range(2):
        assert post_action(client, ws, conversation_id, "close").status_code == 200
    # I expect one Closed event, and no more messages accepted
    assert Counter(event_names(container, conversation_id))["Closed"] == 1
    late = client.post(
        "/api/chat",
        json={"message": "one more thing", "conversation_id": conversation_id, "user": {"id": "visitor-1"}},
        headers=key(ws, conversation_id),
    )
    assert late.status_code == 409 and late.json()["code"] == "conversation_closed"

    # and once projected, the transcript shows it closed with its rating
    container.wait_for_projections()
    transcript = get_transcript(client, ws, conversation_id)
    assert (transcript["status"], transcript["csat"], transcript["turns"]) == ("closed", 5, 1)


def test_actions_on_another_workspaces_conversation_are_404(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a conversation of another workspace
    other = create_ws.execute(container.app, create_ws.CreateWorkspace("Other Inc"))
    theirs = start_conversation(client, other.widget_key)
    before = container.app.recorder.max_notification_id()
    # When this workspace's widget tries to rate, resolve or close it
    for action, body in (("csat", {"score": 1}), ("resolve", None), ("close", None)):
        response = post_action(client, workspace.widget_key, theirs, action, body)
        # I expect a 404, and nothing written
        assert response.status_code == 404, (action, response.text)
        assert response.json()["code"] == "conversation_not_found"
    assert container.app.recorder.max_notification_id() == before


def test_a_failed_turn_shows_as_a_system_message(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given both providers failing every attempt
    for provider in ("anthropic", "openai"):
        fake_llm.enqueue(provider, *[Script(kind="status", status=500) for _ in range(3)])
    # When the visitor asks
    events = chat(client, workspace.widget_key, "How do I export my data?")
    # I expect the stream to end with an error
    assert events[-1][0] == "error" and events[-1][1]["code"] == "providers_unavailable"
    conversation_id = events[0][1]["conversation_id"]
    # and the transcript to show the question, then a system notice saying why there is no answer
    container.wait_for_projections()
    messages = get_transcript(client, workspace.widget_key, conversation_id)["messages"]
    assert [m["role"] for m in messages] == ["user", "system"]
    notice = messages[1]
    assert notice["error_code"] == "providers_unavailable" and notice["reply_to"] == messages[0]["message_id"]
    assert notice["text"] and "unavailable" in notice["text"]


def test_health_and_ready(client: httpx.Client) -> None:
    health = client.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    # (``notices`` names workspaces a projection parked, if a test of the session left one: still ready)
    assert {k: body[k] for k in ("status", "checks")} == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "projections": "ok"},
    }
    assert set(body) <= {"status", "checks", "notices"}


def test_the_openapi_schema_lists_the_public_paths(client: httpx.Client) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/chat", "/api/conversations/{conversation_id}", "/health", "/ready"):
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/chat"] and "get" in paths["/api/conversations/{conversation_id}"]


def test_offline_answers_a_password_question_from_the_help_article(
    offline_client: httpx.Client, workspace: WorkspaceCreated, fake_llm: FakeLLMServer
) -> None:
    # Given the offline server (no provider keys)
    # When the visitor asks about resetting a password
    events = chat(offline_client, workspace.widget_key, "I forgot my password, how do I reset it?")
    # I expect the help article's text as the answer
    assert events[-1][0] == "done", events[-1]
    reply = "".join(d["text"] for n, d in events if n == "delta")
    assert RESET_ARTICLE["text"] in reply
    done = events[-1][1]
    assert done["offline"] is True and (done["provider"], done["model"]) == ("offline", "offline-retrieval")
    assert Decimal(done["cost_usd"]) == 0 and done["cost_usd"] == "0.00000000"
    # with real token counts of the local tokenizer
    assert done["usage"]["input_tokens"] > 0
    assert done["usage"]["output_tokens"] == count_tokens(reply)
    assert done["confidence"] >= 0.5 and done["topic"] == "Passwords & Auth"
    # and no provider was called
    assert fake_llm.requests_for("anthropic") == [] and fake_llm.requests_for("openai") == []


def test_offline_says_so_when_it_finds_nothing(offline_client: httpx.Client, workspace: WorkspaceCreated) -> None:
    # When the question matches no help article
    events = chat(offline_client, workspace.widget_key, "zxqv blorptangle frumious wug?")
    # I expect the "couldn't find" answer, with a low confidence
    reply = "".join(d["text"] for n, d in events if n == "delta")
    done = events[-1][1]
    assert reply == NO_MATCH and "couldn't find" in reply
    assert done["offline"] is True and done["confidence"] < 0.5
