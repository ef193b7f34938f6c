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


REPLAY = f"{PROMPTS}/replay"


def test_replay_compares_the_drafts_decisions_with_production_on_the_latest_conversations(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, body = sign_up(client, workspace="Replay Co")
    key = body["widget_key"]
    old = chat(client, key, "Where are my invoices?", user_id="visitor-0")
    password = chat(client, key, "How do I reset my password?", user_id="visitor-a")
    conversation_a = password[0][1]["conversation_id"]
    chat(client, key, "Thanks, and by email?", conversation_id=conversation_a, user_id="visitor-a")
    legal = chat(client, key, "This is fraud, my lawyer will be contacting you about a lawsuit", user_id="visitor-b")
    conversation_b = legal[0][1]["conversation_id"]
    keywords = client.get(PROMPTS, headers=admin.headers).json()["live"]["content"]["escalation"]["keywords"]
    keywords["legal"] = [*keywords["legal"], "password"]
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT, "escalation": {"keywords": keywords}})
    container.wait_for_projections()
    before_figures = client.get("/api/analytics/usage", headers=admin.headers).json()
    fake_llm.enqueue("anthropic", Script(text="Draft answer."))

    response = client.post(REPLAY, json={"draft_id": saved["draft_id"], "last": 2}, headers=admin.headers)

    assert response.status_code == 200, response.text
    result = response.json()
    rows = {r["conversation_id"]: r for r in result["conversations"]}
    assert set(rows) == {conversation_a, conversation_b}, "the two latest, not the oldest"
    assert old[0][1]["conversation_id"] not in rows
    a, b = rows[conversation_a], rows[conversation_b]
    assert [t["text"] for t in a["turns"]] == ["How do I reset my password?", "Thanks, and by email?"]
    assert (a["production"]["decision"], a["draft"]["decision"]) == ("none", "escalate")
    assert a["turns"][0]["production"]["answer"] and a["turns"][0]["draft"]["rule"] == "p1_legal"
    assert (b["production"]["decision"], b["draft"]["decision"]) == ("escalate", "escalate")
    assert b["turns"][0]["production"]["rule"] == "p1_legal"
    summary = result["summary"]
    assert (summary["conversations"], summary["changed"], summary["unchanged"]) == (2, 1, 1)
    assert summary["directions"] == {"none→escalate": 1} and summary["stricter"] == 1
    started = stored_events(container, a["run_id"])[0]
    assert (started.kind, started.source["conversation_id"]) == ("replay", conversation_a)
    container.wait_for_projections()
    assert client.get("/api/analytics/usage", headers=admin.headers).json() == before_figures


def test_replay_refuses_bad_input_and_non_admins_and_writes_nothing(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client, workspace="Replay Bad")
    saved = draft(client, admin, {"system_prompt": DRAFT_PROMPT})

    def post(body: dict[str, Any], who: Person = admin) -> Any:
        return lambda: client.post(REPLAY, json=body, headers=who.headers)

    refused(container, post({"draft_id": "nope", "last": 1}), 404, "draft_not_found")
    refused(container, post({"version": 42, "last": 1}), 404, "version_not_found")
    refused(container, post({"draft_id": saved["draft_id"], "last": 21}), 422, "out_of_range")
    refused(container, post({"draft_id": saved["draft_id"], "last": 0}), 422, "out_of_range")
    refused(container, post({"last": 1}), 422, "invalid_source")
    agent = invite_and_join(client, admin, "agent")
    before = container.app.recorder.max_notification_id()
    assert (
        client.post(REPLAY, json={"draft_id": saved["draft_id"], "last": 1}, headers=agent.headers).status_code == 403
    )
    assert container.app.recorder.max_notification_id() == before
