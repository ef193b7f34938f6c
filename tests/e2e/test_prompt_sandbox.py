"""The prompt sandbox end to end: a draft or version answers scripted visitor messages through the production
routing, orchestrator, prompt assembly and escalation engine, recorded in a SandboxRun stream that no production
read model counts. Real server, PostgreSQL and the fake providers."""

from __future__ import annotations

from typing import Any

import httpx

from chatassist.bootstrap import Container
from domain.workspace import DEFAULT_SYSTEM_PROMPT
from tests.conftest import chat, stored_events
from tests.e2e.test_prompts import PROMPTS, draft, publish, refused, system_sent
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.sse import parse_sse

SANDBOX = f"{PROMPTS}/sandbox"
DRAFT_PROMPT = "You are the SANDBOX DRAFT assistant of {workspace}. Answer in one sentence."


def sandbox(client: httpx.Client, member: Person, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """POST the sandbox and return its parsed SSE events (asserts a 200 stream)."""
    headers = {**member.headers, "Accept": "text/event-stream"}
    with client.stream("POST", SANDBOX, json=body, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.iter_lines())


def test_a_draft_streams_its_answers_with_its_own_system_prompt_and_is_recorded_in_its_own_stream(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, _ = sign_up(client, workspace="Sandbox Co")
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT})
    fake_llm.enqueue("anthropic", Script(text="Go to Settings, then Security."), Script(text="Yes, by email."))

    events = sandbox(
        client, admin, {"draft_id": saved["draft_id"], "messages": ["How do I reset my password?", "By email?"]}
    )

    names = [n for n, _ in events]
    assert names[0] == "start" and names.count("start") == 2 and names.count("done") == 2, names
    start, done = events[0][1], [d for n, d in events if n == "done"]
    assert (start["turn"], start["source"]) == (1, {"draft_id": saved["draft_id"], "based_on_version": 1})
    text = "".join(d["text"] for n, d in events[: names.index("done")] if n == "delta")
    assert text == "Go to Settings, then Security."
    assert all(d["usage"]["input_tokens"] > 0 and d["cost_usd"] is not None for d in done)
    assert all({"confidence", "topic", "escalation", "provider", "model"} <= d.keys() for d in done)
    assert system_sent(fake_llm).startswith(DRAFT_PROMPT.replace("{workspace}", "Sandbox Co"))
    assert "SANDBOX DRAFT" not in DEFAULT_SYSTEM_PROMPT
    second = fake_llm.requests_for("anthropic")[-1].json["messages"]
    assert [m["role"] for m in second][-3:] == ["user", "assistant", "user"]  # one scripted conversation

    stored = stored_events(container, start["run_id"])
    assert [type(e).__name__ for e in stored] == ["Started", "TurnAnswered", "TurnAnswered", "Finished"]
    assert stored[0].source == start["source"] and stored[0].personal["messages"][1] == "By email?"
    assert stored[1].outcome == "answered" and stored[1].calls[0]["prompt_version"] == 1
    assert stored[1].personal["answer"] == "Go to Settings, then Security."
    # the live prompt is untouched: the draft is still a draft
    assert client.get(PROMPTS, headers=admin.headers).json()["live"]["content"]["system_prompt"] != DRAFT_PROMPT


def test_a_version_as_one_json_document_and_a_legal_message_escalates_without_the_model(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, _ = sign_up(client, workspace="Sandbox Legal")
    publish(client, admin, draft(client, admin, {"system_prompt": DRAFT_PROMPT})["draft_id"], "v2")
    before = len(fake_llm.requests_for("anthropic"))

    response = client.post(
        SANDBOX,
        json={"version": 1, "messages": ["This is fraud, my lawyer will be contacting you about a lawsuit"]},
        headers={**admin.headers, "Accept": "application/json"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    (turn,) = body["turns"]
    assert turn["source"] == {"version": 1} and turn["prompt_version"] == 1
    assert turn["done"]["escalation"]["rule"] == "p1_legal" and turn["done"]["escalation"]["action"] == "escalate"
    assert (turn["done"]["provider"], turn["done"]["attempts"]) == ("escalation", 0)
    assert turn["answer"] == turn["done"]["escalation"]["message"]
    assert len(fake_llm.requests_for("anthropic")) == before, "the model was called for a P1 message"
    stored = stored_events(container, body["run_id"])
    assert [type(e).__name__ for e in stored] == ["Started", "TurnAnswered", "Finished"]
    assert stored[1].outcome == "escalated" and stored[1].escalation["rule"] == "p1_legal"


def test_bad_input_is_refused_and_writes_nothing(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client, workspace="Sandbox Bad")
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT})

    def post(body: dict[str, Any]) -> Any:
        return lambda: client.post(SANDBOX, json=body, headers={**admin.headers, "Accept": "application/json"})

    refused(container, post({"draft_id": "nope", "messages": ["hi"]}), 404, "draft_not_found")
    refused(container, post({"version": 99, "messages": ["hi"]}), 404, "version_not_found")
    refused(container, post({"draft_id": saved["draft_id"], "messages": []}), 422, "invalid_messages")
    refused(container, post({"draft_id": saved["draft_id"], "messages": ["hi"] * 11}), 422, "invalid_messages")
    refused(container, post({"draft_id": saved["draft_id"], "messages": ["x" * 4001]}), 422, "invalid_messages")
    refused(container, post({"draft_id": saved["draft_id"], "messages": ["  "]}), 422, "invalid_messages")
    refused(container, post({"messages": ["hi"]}), 422, "invalid_source")
    refused(container, post({"draft_id": saved["draft_id"], "version": 1, "messages": ["hi"]}), 422, "invalid_source")


def test_only_admins_run_the_sandbox(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client, workspace="Sandbox Roles")
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT})
    body = {"draft_id": saved["draft_id"], "messages": ["hi"]}
    for role in ("agent", "viewer"):
        member = invite_and_join(client, admin, role)
        before = container.app.recorder.max_notification_id()
        assert client.post(SANDBOX, json=body, headers=member.headers).status_code == 403
        assert container.app.recorder.max_notification_id() == before
    assert client.post(SANDBOX, json=body).status_code == 401
    other, _ = sign_up(client, workspace="Sandbox Elsewhere")
    assert client.post(SANDBOX, json=body, headers=other.headers).json()["code"] == "draft_not_found"


def test_the_sandbox_leaves_production_analytics_and_usage_unchanged(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, body = sign_up(client, workspace="Sandbox Figures")
    chat(client, body["widget_key"], "How do I reset my password?")
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT})
    container.wait_for_projections()

    def figures() -> list[Any]:
        out = []
        for path in ("overview", "usage", "topics"):
            response = client.get(f"/api/analytics/{path}", headers=admin.headers)
            assert response.status_code == 200, response.text
            out.append(response.json())
        return out

    before = figures()
    assert before[1] and before[0]
    fake_llm.enqueue("anthropic", Script(text="A sandbox answer.", input_tokens=5000, output_tokens=500))
    messages = ["How do I reset my password?", "This is fraud, my lawyer will sue"]
    events = sandbox(client, admin, {"draft_id": saved["draft_id"], "messages": messages})
    assert [n for n, _ in events].count("done") == 2
    container.wait_for_projections()
    assert figures() == before
