"""POST /api/chat end to end: a real server, real PostgreSQL, the real SDKs against a fake provider."""

from __future__ import annotations

from decimal import Decimal

import httpx

from chatassist.bootstrap import Container
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import chat, event_names, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.sse import names


def test_a_turn_streams_the_reply_and_stores_every_step(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a provider that answers in three chunks
    fake_llm.enqueue(
        "anthropic",
        Script(
            text="Open Settings, then Security.",
            chunks=3,
            input_tokens=1200,
            output_tokens=9,
            cache_read_tokens=1000,
            cache_write_tokens=0,
        ),
    )
    # When a visitor asks a question
    events = chat(client, workspace.widget_key, "How do I turn on 2FA?")
    # I expect start, the chunks as deltas, then done
    assert names(events) == ["start", "delta*", "done"]
    assert "".join(d["text"] for n, d in events if n == "delta") == "Open Settings, then Security."
    start, done = events[0][1], events[-1][1]
    assert done["provider"] == "anthropic" and done["model"] == "claude-sonnet-4-6"
    assert done["usage"] == {
        "input_tokens": 1200,
        "output_tokens": 9,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 0,
    }
    # 1200 * 3 + 9 * 15 + 1000 * 0.30 per million tokens
    assert Decimal(done["cost_usd"]) == Decimal("0.004035")
    assert done["reply_to"] == start["message_id"] and done["offline"] is False and done["attempts"] == 1
    assert 0 <= done["confidence"] <= 1 and done["topic"] == "Passwords & Auth"
    # and every step is an event in the store
    assert event_names(container, start["conversation_id"]) == [
        "Started",
        "UserMessageReceived",
        "ModelCallMade",
        "AssistantReplied",
    ]
    call = stored_events(container, start["conversation_id"])[2]
    assert (call.provider, call.model, call.attempt, call.outcome, call.error_kind) == (
        "anthropic",
        "claude-sonnet-4-6",
        1,
        "ok",
        None,
    )
    assert (call.input_tokens, call.output_tokens, call.cache_read_tokens) == (1200, 9, 1000)
    assert call.ttft_ms is not None and call.latency_ms >= call.ttft_ms and call.cost_known


def test_the_model_gets_the_cached_system_prompt_and_the_history(
    client: httpx.Client, workspace: WorkspaceCreated, fake_llm: FakeLLMServer
) -> None:
    first = chat(client, workspace.widget_key, "Where are my invoices?")
    conversation_id = first[0][1]["conversation_id"]
    chat(client, workspace.widget_key, "And can I add a VAT number?", conversation_id=conversation_id)
    sent = fake_llm.requests_for("anthropic")[-1].json
    assert sent["stream"] is True and sent["max_tokens"] == 1024
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Help articles you may rely on" in sent["system"][0]["text"]
    texts = [(m["role"], m["content"]) for m in sent["messages"]]
    # the few-shot example pair, then the history, ending with the new message
    assert texts[0][0] == "user" and texts[1][0] == "assistant"
    assert texts[2] == ("user", "Where are my invoices?")
    assert texts[-1] == ("user", "And can I add a VAT number?") and len(texts) == 5


def test_json_mode_answers_the_whole_turn_as_one_document(
    client: httpx.Client, workspace: WorkspaceCreated, fake_llm: FakeLLMServer
) -> None:
    fake_llm.enqueue("anthropic", Script(text="Use the Export page."))
    response = client.post(
        "/api/chat",
        json={"message": "export my data?", "user": {"id": "v"}},
        headers={"X-Widget-Key": workspace.widget_key, "Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["reply"] == "Use the Export page." and body["model"] == "claude-sonnet-4-6"
    assert body["conversation_id"] and body["message_id"] and body["restarts"] == 0
