"""Provider failures end to end: retries, fallback, broken streams, unknown prices, budgets, history, load.

A real server, real PostgreSQL and Redis, the real anthropic and openai SDKs against the fake provider.
Settings (tests/conftest.py): 1 s provider timeout, 10 ms backoff, 3 attempts per route;
claude-sonnet-4-6 on Anthropic first, gpt-4o-mini on OpenAI as the fallback.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import httpx

from chatassist.bootstrap import Container
from commands.change_workspace_settings.cmd import ChangeWorkspaceSettings
from commands.change_workspace_settings.cmd import execute as change_settings
from commands.create_workspace.cmd import WorkspaceCreated
from commands.create_workspace.defaults import DEFAULT_EXAMPLES
from tests.conftest import chat, event_names, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.sse import names

PRIMARY, FALLBACK, BUDGET_MODEL = "claude-sonnet-4-6", "gpt-4o-mini", "claude-haiku-4-5"
SSEEvents = list[tuple[str, Any]]


def status(code: int) -> Script:
    """The provider answers with an HTTP error."""
    return Script(kind="status", status=code)


def conversation_of(events: SSEEvents) -> str:
    """The conversation id announced by ``start``."""
    assert events[0][0] == "start", events
    return str(events[0][1]["conversation_id"])


def last(events: SSEEvents, name: str) -> dict[str, Any]:
    """Data of the last SSE event called ``name``."""
    return next(data for n, data in reversed(events) if n == name)


def reply_text(events: SSEEvents) -> str:
    """What a client shows: the deltas after the last ``restart``."""
    after: list[str] = []
    for name, data in events:
        if name == "restart":
            after = []
        elif name == "delta":
            after.append(data["text"])
    return "".join(after)


def model_calls(container: Container, conversation_id: str) -> list[Any]:
    """The stored ModelCallMade events of a conversation, in order."""
    return [e for e in stored_events(container, conversation_id) if type(e).__name__ == "ModelCallMade"]


def attempts(container: Container, conversation_id: str) -> list[tuple[str, str, int, str, str | None]]:
    """(provider, model, attempt, outcome, error_kind) of every stored model call."""
    return [(c.provider, c.model, c.attempt, c.outcome, c.error_kind) for c in model_calls(container, conversation_id)]


def set_workspace(container: Container, workspace: WorkspaceCreated, **changes: Any) -> None:
    """Change workspace settings through the real command."""
    change_settings(container.app, ChangeWorkspaceSettings(workspace.workspace_id, changes))


def wait_for_usage(container: Container, workspace: WorkspaceCreated, tokens: int, timeout: float = 5.0) -> None:
    """Wait until the usage read model shows ``tokens`` for the workspace this month.

    Not ``container.wait_for_projections()``: it waits for the store's newest notification, which the
    usage projection (subscribed to ModelCallMade only) never tracks when a reply came last.
    """
    deadline = time.monotonic() + timeout
    while (used := container.usage.tokens_this_month(workspace.workspace_id)) != tokens:
        assert time.monotonic() < deadline, f"usage view shows {used} tokens, expected {tokens}"
        time.sleep(0.02)


def sent_messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, content) of the messages of a recorded Anthropic request."""
    return [(m["role"], m["content"]) for m in body["messages"]]


def test_a_server_error_is_retried_on_the_same_provider(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic fails once with a 500, then answers
    fake_llm.enqueue("anthropic", status(500), Script(text="Second time lucky.", input_tokens=100, output_tokens=4))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Is the service up?")
    # I expect the answer from Anthropic with no restart (nothing was streamed by the failed attempt)
    assert names(events) == ["start", "delta*", "done"]
    done = last(events, "done")
    assert reply_text(events) == "Second time lucky."
    assert (done["provider"], done["model"], done["attempts"]) == ("anthropic", PRIMARY, 2)
    # and both attempts stored, numbered within the turn
    cid = conversation_of(events)
    assert event_names(container, cid) == [
        "Started",
        "UserMessageReceived",
        "ModelCallMade",
        "ModelCallMade",
        "AssistantReplied",
    ]
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "server_error"),
        ("anthropic", PRIMARY, 2, "ok", None),
    ]
    failed, ok = model_calls(container, cid)
    assert failed.ttft_ms is None and failed.input_tokens == 0 and failed.cost_usd == Decimal(0)
    # 100 * 3 + 4 * 15 per million tokens
    assert ok.cost_usd == Decimal("0.00036") and ok.cost_known and Decimal(done["cost_usd"]) == Decimal("0.00036")
    assert stored_events(container, cid)[-1].provider == "anthropic"


def test_the_sdks_own_retries_are_off(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given one 500 on each provider (Anthropic overloaded first, so OpenAI is reached)
    fake_llm.enqueue("anthropic", status(500), status(529))
    fake_llm.enqueue("openai", status(500), Script(text="From OpenAI."))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Hello?")
    # I expect the fake to have seen exactly the requests our policy made, no hidden SDK retries
    assert last(events, "done")["attempts"] == 4
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "server_error"),
        ("anthropic", PRIMARY, 2, "fell_back", "overloaded"),
        ("openai", FALLBACK, 3, "error", "server_error"),
        ("openai", FALLBACK, 4, "ok", None),
    ]
    assert len(fake_llm.requests_for("anthropic")) == 2 and len(fake_llm.requests_for("openai")) == 2
    assert fake_llm.pending("anthropic") == 0 and fake_llm.pending("openai") == 0
    # and no request was flagged as an SDK-level retry (the openai SDK counts its own retries in a header; the
    # Anthropic calls go over ChatAssist's own client, which never retries: one request per recorded attempt)
    assert [r.headers["x-stainless-retry-count"] for r in fake_llm.requests_for("openai")] == ["0"] * 2
    assert [r.headers.get("x-stainless-retry-count") for r in fake_llm.requests_for("anthropic")] == [None] * 2


def test_overload_falls_back_to_openai_at_once(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic is overloaded (529) and OpenAI answers
    fake_llm.enqueue("anthropic", status(529))
    fake_llm.enqueue("openai", Script(text="OpenAI here.", chunks=2))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Can you help?")
    # I expect the reply from the fallback, with no retry of Anthropic
    assert names(events) == ["start", "delta*", "done"]
    done = last(events, "done")
    assert (done["provider"], done["model"], done["attempts"]) == ("openai", FALLBACK, 2)
    assert reply_text(events) == "OpenAI here."
    assert len(fake_llm.requests_for("anthropic")) == 1 and len(fake_llm.requests_for("openai")) == 1
    assert fake_llm.requests_for("openai")[0].json["model"] == FALLBACK
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "fell_back", "overloaded"),
        ("openai", FALLBACK, 2, "ok", None),
    ]
    replied = stored_events(container, cid)[-1]
    assert type(replied).__name__ == "AssistantReplied"
    assert (replied.provider, replied.model, replied.personal["text"]) == ("openai", FALLBACK, "OpenAI here.")


def test_a_rate_limit_falls_back_to_openai_at_once(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic rate-limits us (429, Retry-After 0) and OpenAI answers
    fake_llm.enqueue("anthropic", status(429))
    fake_llm.enqueue("openai", Script(text="Fallback answer."))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Can I export my reports as CSV?")
    # I expect one Anthropic request only, then the OpenAI answer
    done = last(events, "done")
    assert names(events) == ["start", "delta*", "done"]
    assert (done["provider"], done["model"], done["attempts"]) == ("openai", FALLBACK, 2)
    assert len(fake_llm.requests_for("anthropic")) == 1
    assert attempts(container, conversation_of(events)) == [
        ("anthropic", PRIMARY, 1, "fell_back", "rate_limited"),
        ("openai", FALLBACK, 2, "ok", None),
    ]


def test_an_auth_error_moves_straight_to_openai(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic rejects our key (401, not retryable)
    fake_llm.enqueue("anthropic", status(401))
    fake_llm.enqueue("openai", Script(text="Still here for you."))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Hi")
    # I expect no retry of Anthropic and the answer from OpenAI
    done = last(events, "done")
    assert (done["provider"], done["model"], done["attempts"]) == ("openai", FALLBACK, 2)
    assert len(fake_llm.requests_for("anthropic")) == 1 and len(fake_llm.requests_for("openai")) == 1
    assert attempts(container, conversation_of(events)) == [
        ("anthropic", PRIMARY, 1, "fell_back", "auth"),
        ("openai", FALLBACK, 2, "ok", None),
    ]


def test_timeouts_are_retried_then_fall_back(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic holds every request 2 s, past our 1 s timeout, three times
    fake_llm.enqueue("anthropic", *[Script(kind="timeout", delay_s=2.0) for _ in range(3)])
    fake_llm.enqueue("openai", Script(text="Sorry for the wait."))
    # When a visitor asks
    started = time.monotonic()
    events = chat(client, workspace.widget_key, "Slow today?")
    elapsed = time.monotonic() - started
    # I expect three timed-out Anthropic attempts, then the OpenAI answer
    assert names(events) == ["start", "delta*", "done"]
    done = last(events, "done")
    assert (done["provider"], done["attempts"]) == ("openai", 4)
    assert reply_text(events) == "Sorry for the wait."
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "timeout"),
        ("anthropic", PRIMARY, 2, "error", "timeout"),
        ("anthropic", PRIMARY, 3, "fell_back", "timeout"),
        ("openai", FALLBACK, 4, "ok", None),
    ]
    assert len(fake_llm.requests_for("anthropic")) == 3
    # each attempt gave up after our timeout, not after the fake's 2 s
    for call in model_calls(container, cid)[:3]:
        assert call.ttft_ms is None and 900 <= call.latency_ms < 1900
    assert elapsed < 6


def test_a_stream_broken_mid_way_restarts_and_keeps_only_the_second_text(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic streams two words then drops the connection, then answers in full
    fake_llm.enqueue(
        "anthropic",
        Script(kind="break", text="Broken words never finished here.", break_after=2),
        Script(text="The complete answer.", chunks=3),
    )
    # When a visitor asks
    events = chat(client, workspace.widget_key, "What is the answer?")
    # I expect the client to see the partial text, a restart, then the whole answer
    assert names(events) == ["start", "delta*", "restart", "delta*", "done"]
    restart_at = [n for n, _ in events].index("restart")
    assert "".join(d["text"] for n, d in events[:restart_at] if n == "delta") == "Broken words "
    assert last(events, "restart") == {"reason": "broken_stream", "provider": "anthropic", "model": PRIMARY}
    assert reply_text(events) == "The complete answer."
    assert last(events, "done")["attempts"] == 2
    # and only the second attempt's text is stored, the broken attempt recorded as such
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "broken_stream"),
        ("anthropic", PRIMARY, 2, "ok", None),
    ]
    broken = model_calls(container, cid)[0]
    assert broken.ttft_ms is not None
    assert stored_events(container, cid)[-1].personal["text"] == "The complete answer."
    # and the next turn's history carries only the complete answer
    chat(client, workspace.widget_key, "Thanks, and then?", conversation_id=cid)
    assert sent_messages(fake_llm.requests_for("anthropic")[-1].json)[-3:] == [
        ("user", "What is the answer?"),
        ("assistant", "The complete answer."),
        ("user", "Thanks, and then?"),
    ]


def test_an_openai_stream_cut_before_any_text_is_a_broken_stream(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic is overloaded, and OpenAI answers 200 then drops the connection before any text
    fake_llm.enqueue("anthropic", status(529))
    fake_llm.enqueue("openai", Script(kind="break", text="Never seen.", break_after=0), Script(text="Second try."))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Quick one")
    # I expect no restart (nothing was shown), a retry on OpenAI, and the cut recorded as a broken stream
    assert names(events) == ["start", "delta*", "done"]
    assert reply_text(events) == "Second try."
    assert attempts(container, conversation_of(events)) == [
        ("anthropic", PRIMARY, 1, "fell_back", "overloaded"),
        ("openai", FALLBACK, 2, "error", "broken_stream"),
        ("openai", FALLBACK, 3, "ok", None),
    ]


def test_json_mode_after_a_broken_stream_answers_only_the_second_text(
    client: httpx.Client, workspace: WorkspaceCreated, fake_llm: FakeLLMServer
) -> None:
    # Given a broken first stream, then a full answer
    fake_llm.enqueue(
        "anthropic",
        Script(kind="break", text="Half an answer that dies.", break_after=2),
        Script(text="A whole answer."),
    )
    # When a client asks for one JSON document
    response = client.post(
        "/api/chat",
        json={"message": "Tell me", "user": {"id": "v"}},
        headers={"X-Widget-Key": workspace.widget_key, "Accept": "application/json"},
    )
    # I expect only the second text, and the restart counted
    assert response.status_code == 200
    body = response.json()
    assert (body["reply"], body["restarts"], body["attempts"]) == ("A whole answer.", 1, 2)


def test_an_anthropic_stream_without_message_stop_is_retried(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic streams all the text but ends cleanly without message_stop, then answers properly
    fake_llm.enqueue(
        "anthropic",
        Script(kind="no_final", text="Looks whole but is not."),
        Script(text="Properly finished."),
    )
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Are you sure?")
    # I expect a restart and a retry on Anthropic, not the unfinished text as the reply
    assert names(events) == ["start", "delta*", "restart", "delta*", "done"]
    assert last(events, "restart") == {"reason": "broken_stream", "provider": "anthropic", "model": PRIMARY}
    assert reply_text(events) == "Properly finished."
    assert len(fake_llm.requests_for("anthropic")) == 2
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "broken_stream"),
        ("anthropic", PRIMARY, 2, "ok", None),
    ]
    assert stored_events(container, cid)[-1].personal["text"] == "Properly finished."


def test_an_openai_stream_without_its_final_chunks_is_retried_on_openai(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic is overloaded, and OpenAI's first stream ends without finish_reason, usage or [DONE]
    fake_llm.enqueue("anthropic", status(529))
    fake_llm.enqueue("openai", Script(kind="no_final", text="Unfinished fallback."), Script(text="Finished fallback."))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Hello again")
    # I expect OpenAI, the only route left, to be tried again
    assert names(events) == ["start", "delta*", "restart", "delta*", "done"]
    assert last(events, "restart") == {"reason": "broken_stream", "provider": "openai", "model": FALLBACK}
    assert reply_text(events) == "Finished fallback."
    done = last(events, "done")
    assert (done["provider"], done["model"], done["attempts"]) == ("openai", FALLBACK, 3)
    assert len(fake_llm.requests_for("anthropic")) == 1 and len(fake_llm.requests_for("openai")) == 2
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "fell_back", "overloaded"),
        ("openai", FALLBACK, 2, "error", "broken_stream"),
        ("openai", FALLBACK, 3, "ok", None),
    ]
    assert stored_events(container, cid)[-1].personal["text"] == "Finished fallback."


def test_when_every_provider_fails_the_turn_fails_and_is_stored(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given both providers answer 500 every time
    fake_llm.enqueue("anthropic", *[status(500)] * 3)
    fake_llm.enqueue("openai", *[status(500)] * 3)
    # When a visitor asks
    events = chat(client, workspace.widget_key, "How do I export my data?")
    # I expect the stream to end with providers_unavailable
    assert names(events) == ["start", "error"]
    error = last(events, "error")
    assert error["code"] == "providers_unavailable" and "a person from the team will reply" in error["message"]
    # telling the visitor that the conversation waits for a person
    assert error["escalation"]["rule"] == "ai_unavailable" and error["escalation"]["action"] == "escalate"
    # and every attempt stored with its outcome, then the escalation and the failed turn, and no reply
    cid = conversation_of(events)
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "error", "server_error"),
        ("anthropic", PRIMARY, 2, "error", "server_error"),
        ("anthropic", PRIMARY, 3, "fell_back", "server_error"),
        ("openai", FALLBACK, 4, "error", "server_error"),
        ("openai", FALLBACK, 5, "error", "server_error"),
        ("openai", FALLBACK, 6, "error", "server_error"),
    ]
    stored = stored_events(container, cid)
    assert event_names(container, cid) == [
        "Started",
        "UserMessageReceived",
        *["ModelCallMade"] * 6,
        "Escalated",
        "HandoffSummarized",
        "TurnFailed",
    ]
    assert stored[-1].reply_to == events[0][1]["message_id"] == stored[1].message_id
    assert stored[-1].code == "providers_unavailable"
    escalated = stored[-3]
    assert (escalated.rule, escalated.priority, escalated.reply_to) == ("ai_unavailable", 3, stored[1].message_id)
    assert escalated.holding_message == error["message"]
    assert {c.reply_to for c in model_calls(container, cid)} == {stored[1].message_id}
    assert len(fake_llm.requests_for("anthropic")) == 3 and len(fake_llm.requests_for("openai")) == 3


def test_json_mode_reports_unavailable_providers_as_a_503(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Anthropic is overloaded and OpenAI answers 500 every time
    fake_llm.enqueue("anthropic", status(529))
    fake_llm.enqueue("openai", *[status(500)] * 3)
    # When a client asks for one JSON document
    response = client.post(
        "/api/chat",
        json={"message": "Anyone?", "user": {"id": "v"}},
        headers={"X-Widget-Key": workspace.widget_key, "Accept": "application/json"},
    )
    # I expect a 503 in the one error shape, naming the stored message
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"code", "message", "conversation_id", "message_id", "visitor_token"}
    assert body["code"] == "providers_unavailable" and body["message"]
    assert body["visitor_token"].startswith("vt_")  # the conversation is stored: the widget keeps its token
    cid = body["conversation_id"]
    assert attempts(container, cid) == [
        ("anthropic", PRIMARY, 1, "fell_back", "overloaded"),
        ("openai", FALLBACK, 2, "error", "server_error"),
        ("openai", FALLBACK, 3, "error", "server_error"),
        ("openai", FALLBACK, 4, "error", "server_error"),
    ]
    failed = stored_events(container, cid)[-1]
    assert type(failed).__name__ == "TurnFailed"
    assert (failed.reply_to, failed.code) == (body["message_id"], "providers_unavailable")
    assert "AssistantReplied" not in event_names(container, cid)


def test_a_model_without_a_known_price_has_an_unknown_cost_never_zero(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given the workspace uses a model we have no price for
    set_workspace(container, workspace, primary_model="claude-sonnet-5-5")
    fake_llm.enqueue("anthropic", Script(text="Priced? Who knows.", input_tokens=500, output_tokens=7))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "How much does this cost you?")
    # I expect the cost to be unknown (null), while the tokens are known
    done = last(events, "done")
    assert done["model"] == "claude-sonnet-5-5" and "cost_usd" in done and done["cost_usd"] is None
    assert done["usage"]["input_tokens"] == 500 and done["usage"]["output_tokens"] == 7
    assert fake_llm.requests_for("anthropic")[0].json["model"] == "claude-sonnet-5-5"
    (call,) = model_calls(container, conversation_of(events))
    assert call.model == "claude-sonnet-5-5" and call.cost_usd is None and call.cost_known is False
    assert call.input_tokens == 500


def test_an_unknown_price_in_any_attempt_makes_the_turn_cost_unknown(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given an unpriced primary that is overloaded, and a priced fallback that answers
    set_workspace(container, workspace, primary_model="claude-sonnet-5-5")
    fake_llm.enqueue("anthropic", status(529))
    fake_llm.enqueue("openai", Script(text="Cheap answer.", input_tokens=1000, output_tokens=10))
    # When a visitor asks
    events = chat(client, workspace.widget_key, "Hello")
    # I expect the turn's total cost to be unknown rather than the fallback's cost alone
    done = last(events, "done")
    assert done["provider"] == "openai" and done["cost_usd"] is None
    first, second = model_calls(container, conversation_of(events))
    assert (first.cost_usd, first.cost_known) == (None, False)
    # 1000 * 0.15 + 10 * 0.60 per million tokens
    assert (second.cost_usd, second.cost_known) == (Decimal("0.000156"), True)


def test_the_monthly_budget_refuses_then_switches_to_the_cheaper_model(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a budget of 50 tokens a month, and a first turn that spends more than that
    set_workspace(container, workspace, monthly_token_budget=50)
    fake_llm.enqueue("anthropic", Script(text="First answer.", input_tokens=100, output_tokens=5))
    first = chat(client, workspace.widget_key, "First question")
    assert names(first) == ["start", "delta*", "done"]
    cid = conversation_of(first)
    wait_for_usage(container, workspace, 105)
    # When the visitor asks again
    second = chat(client, workspace.widget_key, "Second question", conversation_id=cid)
    # I expect a refusal, no model call, and the message and the failure stored
    assert names(second) == ["start", "error"]
    refusal = last(second, "error")
    assert refusal["code"] == "budget_exhausted" and "a person from the team will reply" in refusal["message"]
    assert len(fake_llm.requests) == 1
    stored = stored_events(container, cid)
    assert event_names(container, cid)[-4:] == ["UserMessageReceived", "Escalated", "HandoffSummarized", "TurnFailed"]
    assert stored[-4].personal["text"] == "Second question"
    assert (stored[-1].reply_to, stored[-1].code) == (second[0][1]["message_id"], "budget_exhausted")
    # and the conversation queued for a person, as the refusal promises
    assert (stored[-3].rule, refusal["escalation"]["rule"]) == ("ai_unavailable", "ai_unavailable")
    follow_up = chat(client, workspace.widget_key, "Anyone there?", conversation_id=cid)
    assert last(follow_up, "done")["handled_by"] == "human" and last(follow_up, "done")["state"] == "queued"
    # and in JSON mode the same refusal (a new conversation) is a 429
    response = client.post(
        "/api/chat",
        json={"message": "Third?", "user": {"id": "visitor-1"}},
        headers={"X-Widget-Key": workspace.widget_key, "Accept": "application/json"},
    )
    assert response.status_code == 429 and response.json()["code"] == "budget_exhausted"
    assert len(fake_llm.requests) == 1
    # When the workspace switches to the cheaper model over budget
    set_workspace(container, workspace, over_budget="cheaper_model")
    fourth = chat(client, workspace.widget_key, "Fourth question")
    cid = conversation_of(fourth)
    # I expect an answer from the budget model
    assert names(fourth) == ["start", "delta*", "done"]
    assert last(fourth, "done")["model"] == BUDGET_MODEL
    assert fake_llm.requests_for("anthropic")[-1].json["model"] == BUDGET_MODEL
    assert model_calls(container, cid)[-1].model == BUDGET_MODEL


def test_the_model_sees_only_the_configured_history_window(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a history window of 2 exchanges and four scripted answers
    set_workspace(container, workspace, max_history_turns=2)
    fake_llm.enqueue("anthropic", *[Script(text=f"Answer {n}.") for n in ("one", "two", "three", "four")])
    # When the visitor asks four questions in one conversation
    cid: str | None = None
    for n in ("one", "two", "three", "four"):
        events = chat(client, workspace.widget_key, f"Question {n}?", conversation_id=cid)
        assert names(events) == ["start", "delta*", "done"]
        cid = conversation_of(events)
    # I expect the fourth request to hold the example pair, the previous exchange and the new question
    (example,) = DEFAULT_EXAMPLES
    assert sent_messages(fake_llm.requests_for("anthropic")[3].json) == [
        ("user", example["user"]),
        ("assistant", example["assistant"]),
        ("user", "Question three?"),
        ("assistant", "Answer three."),
        ("user", "Question four?"),
    ]
    # and the second request, still inside the window, the whole conversation so far
    assert sent_messages(fake_llm.requests_for("anthropic")[1].json)[2:] == [
        ("user", "Question one?"),
        ("assistant", "Answer one."),
        ("user", "Question two?"),
    ]


def test_concurrent_turns_in_new_conversations_all_complete(
    ai_server: Any, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a provider that takes about 0.3 s per answer
    fake_llm.set_default("anthropic", Script(text="One moment, all done.", chunks=3, chunk_delay_s=0.1))
    turns = 10
    results: dict[int, SSEEvents] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(turns)

    def visitor(i: int) -> None:
        try:
            with httpx.Client(base_url=ai_server.base_url, timeout=20) as own:
                barrier.wait()
                results[i] = chat(own, workspace.widget_key, f"Question from visitor {i}", user_id=f"visitor-{i}")
        except BaseException as exc:
            errors.append(exc)

    # When ten visitors ask at the same time, each in a new conversation
    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(turns)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - started
    # I expect every turn answered, in ten distinct conversations each holding exactly its four events
    assert not errors, errors
    assert sorted(results) == list(range(turns))
    conversations = {conversation_of(events) for events in results.values()}
    assert len(conversations) == turns
    for i, events in results.items():
        assert names(events) == ["start", "delta*", "done"]
        assert reply_text(events) == "One moment, all done."
        cid = conversation_of(events)
        stored = stored_events(container, cid)
        assert event_names(container, cid) == [
            "Started",
            "UserMessageReceived",
            "ModelCallMade",
            "AssistantReplied",
        ]
        assert stored[1].personal["text"] == f"Question from visitor {i}"
        assert stored[-1].reply_to == events[0][1]["message_id"]
    assert len(fake_llm.requests_for("anthropic")) == turns
    # and the turns ran side by side, not one after another (ten in a row would take 3 s or more)
    assert elapsed < 2.5
