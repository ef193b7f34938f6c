"""Self-test of the fake LLM server, driven through the real anthropic and openai SDKs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from .llm_server import FakeLLMServer, Script, estimate_tokens, split_text

MODEL_A = "claude-sonnet-5-5"
MODEL_O = "gpt-4o-mini"
PROMPT = "Where is my order #1234?"
TEXT = "Your order shipped yesterday and arrives Friday."


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeLLMServer) -> FakeLLMServer:
    server.reset()
    return server


@pytest.fixture
def ac(fake: FakeLLMServer) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(api_key="test", base_url=fake.anthropic_base_url, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def oc(fake: FakeLLMServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(api_key="test", base_url=fake.openai_base_url, max_retries=0)
    yield client
    client.close()


def a_params(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL_A, "max_tokens": 100, "messages": [{"role": "user", "content": PROMPT}], **extra}


def o_params(**extra: Any) -> dict[str, Any]:
    return {"model": MODEL_O, "messages": [{"role": "user", "content": PROMPT}], **extra}


def test_split_text_round_trips() -> None:
    assert split_text(TEXT) == ["Your ", "order ", "shipped ", "yesterday ", "and ", "arrives ", "Friday."]
    assert len(split_text(TEXT, 3)) == 3
    assert "".join(split_text(" a  b ", 0)) == " a  b "
    assert "".join(split_text(TEXT, 100)) == TEXT
    assert split_text("") == []


def test_anthropic_stream_reassembles_and_reports_usage(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.enqueue(
        "anthropic",
        Script(text=TEXT, input_tokens=40, output_tokens=9, cache_read_tokens=30, cache_write_tokens=5),
    )
    with ac.messages.stream(**a_params()) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT
    assert final.model == MODEL_A
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (40, 9)
    assert (final.usage.cache_read_input_tokens, final.usage.cache_creation_input_tokens) == (30, 5)
    [recorded] = fake.requests
    assert recorded.provider == "anthropic" and recorded.path == "/v1/messages"
    assert recorded.headers["authorization"] == "Bearer test" and "anthropic-version" in recorded.headers
    assert recorded.json["stream"] is True and recorded.json["model"] == MODEL_A


def test_anthropic_raw_events_in_order(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.enqueue("anthropic", Script(text=TEXT, chunks=2))
    events = [event.type for event in ac.messages.create(**a_params(stream=True))]
    assert events == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_anthropic_json_message_estimates_tokens(ac: anthropic.Anthropic) -> None:
    message = ac.messages.create(**a_params())
    assert message.content[0].type == "text" and message.content[0].text == Script().text
    assert message.model == MODEL_A and message.stop_reason == "end_turn"
    assert message.usage.input_tokens == estimate_tokens(PROMPT)
    assert message.usage.output_tokens == estimate_tokens(Script().text)


def test_openai_stream_reassembles_and_reports_usage(fake: FakeLLMServer, oc: openai.OpenAI) -> None:
    fake.enqueue("openai", Script(text=TEXT, input_tokens=40, output_tokens=9, cache_read_tokens=30))
    chunks = list(oc.chat.completions.create(**o_params(stream=True, stream_options={"include_usage": True})))
    content_chunks = [c for c in chunks if c.choices]
    assert content_chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in content_chunks) == TEXT
    assert content_chunks[-1].choices[0].finish_reason == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert (usage_chunk.usage.prompt_tokens, usage_chunk.usage.completion_tokens) == (70, 9)
    assert usage_chunk.usage.prompt_tokens_details is not None
    assert usage_chunk.usage.prompt_tokens_details.cached_tokens == 30
    assert all(c.model == MODEL_O for c in chunks)
    assert fake.requests[0].path == "/v1/chat/completions"
    assert fake.requests[0].headers["authorization"] == "Bearer test"


def test_openai_stream_without_usage_option_has_no_usage_chunk(oc: openai.OpenAI) -> None:
    chunks = list(oc.chat.completions.create(**o_params(stream=True)))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_openai_json_completion(oc: openai.OpenAI) -> None:
    completion = oc.chat.completions.create(**o_params())
    assert completion.choices[0].message.content == Script().text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == MODEL_O
    assert completion.usage is not None and completion.usage.prompt_tokens == estimate_tokens(PROMPT)


def test_anthropic_529_is_overloaded(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.enqueue("anthropic", Script(kind="status", status=529))
    with pytest.raises(anthropic.OverloadedError) as caught:
        ac.messages.create(**a_params(stream=True))
    assert caught.value.status_code == 529
    assert isinstance(caught.value.body, dict) and caught.value.body["error"]["type"] == "overloaded_error"


def test_429_is_rate_limit_on_both(fake: FakeLLMServer, ac: anthropic.Anthropic, oc: openai.OpenAI) -> None:
    fake.enqueue("anthropic", Script(kind="status", status=429))
    fake.enqueue("openai", Script(kind="status", status=429))
    with pytest.raises(anthropic.RateLimitError) as a_err:
        ac.messages.create(**a_params())
    with pytest.raises(openai.RateLimitError) as o_err:
        oc.chat.completions.create(**o_params(stream=True))
    assert a_err.value.response.headers["retry-after"] == "0"
    assert o_err.value.code == "rate_limit_exceeded"


def test_500_is_internal_server_error_on_both(fake: FakeLLMServer, ac: anthropic.Anthropic, oc: openai.OpenAI) -> None:
    fake.enqueue("anthropic", Script(kind="status", status=500))
    fake.enqueue("openai", Script(kind="status", status=500))
    with pytest.raises(anthropic.InternalServerError):
        ac.messages.create(**a_params())
    with pytest.raises(openai.InternalServerError):
        oc.chat.completions.create(**o_params())


def test_timeout_raises_api_timeout(fake: FakeLLMServer, ac: anthropic.Anthropic, oc: openai.OpenAI) -> None:
    fake.enqueue("anthropic", Script(kind="timeout", delay_s=5))
    fake.enqueue("openai", Script(kind="timeout", delay_s=5))
    started = time.perf_counter()
    with pytest.raises(anthropic.APITimeoutError):
        ac.with_options(timeout=0.3).messages.create(**a_params(stream=True))
    with pytest.raises(openai.APITimeoutError):
        oc.with_options(timeout=0.3).chat.completions.create(**o_params())
    assert time.perf_counter() - started < 2


def test_anthropic_break_is_detectable(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.enqueue("anthropic", Script(text=TEXT, break_after=2))
    fake.enqueue("anthropic", Script(kind="break", text=TEXT, break_after=2))
    ac.messages.create(**a_params())
    seen: list[str] = []
    texts: list[str] = []
    # The SDK does not wrap a cut chunked body: the raw httpx2 error escapes.
    with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
        for event in ac.messages.create(**a_params(stream=True)):
            seen.append(event.type)
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                texts.append(event.delta.text)
    assert "message_stop" not in seen and "message_delta" not in seen
    assert texts == split_text(TEXT)[:2]
    assert ac.messages.create(**a_params()).stop_reason == "end_turn"


def test_openai_break_raises_connection_error(fake: FakeLLMServer, oc: openai.OpenAI) -> None:
    fake.enqueue("openai", Script(kind="break", break_after=1))
    seen: list[str | None] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in oc.chat.completions.create(**o_params(stream=True, stream_options={"include_usage": True})):
            seen.extend(choice.finish_reason for choice in chunk.choices)
    assert seen == [None, None]


def test_break_on_json_request_is_connection_error(
    fake: FakeLLMServer, ac: anthropic.Anthropic, oc: openai.OpenAI
) -> None:
    fake.enqueue("anthropic", Script(kind="break"))
    fake.enqueue("openai", Script(kind="break"))
    with pytest.raises(anthropic.APIConnectionError):
        ac.messages.create(**a_params())
    with pytest.raises(openai.APIConnectionError):
        oc.chat.completions.create(**o_params())


def test_anthropic_no_final_ends_silently(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.enqueue("anthropic", Script(kind="no_final", text=TEXT))
    with ac.messages.stream(**a_params()) as stream:
        text = "".join(stream.text_stream)
        snapshot = stream.current_message_snapshot
    assert text == TEXT
    assert snapshot.stop_reason is None


def test_openai_no_final_ends_silently(fake: FakeLLMServer, oc: openai.OpenAI) -> None:
    fake.enqueue("openai", Script(kind="no_final", text=TEXT))
    chunks = list(oc.chat.completions.create(**o_params(stream=True, stream_options={"include_usage": True})))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert all(c.choices and c.choices[0].finish_reason is None for c in chunks)
    assert all(c.usage is None for c in chunks)


def test_queue_is_fifo_then_default_and_reset(fake: FakeLLMServer, ac: anthropic.Anthropic) -> None:
    fake.set_default("anthropic", Script(text="default"))
    fake.enqueue("anthropic", Script(text="one"), Script(text="two"))
    replies = [ac.messages.create(**a_params()).content[0] for _ in range(3)]
    assert [r.text for r in replies if r.type == "text"] == ["one", "two", "default"]
    assert fake.pending("anthropic") == 0 and len(fake.requests_for("anthropic")) == 3
    fake.reset()
    assert fake.requests == []
    reply = ac.messages.create(**a_params()).content[0]
    assert reply.type == "text" and reply.text == Script().text


def test_chunk_delay_streams_incrementally(fake: FakeLLMServer, oc: openai.OpenAI) -> None:
    fake.enqueue("openai", Script(text=TEXT, chunks=3, chunk_delay_s=0.05))
    arrivals: list[float] = []
    for chunk in oc.chat.completions.create(**o_params(stream=True)):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter())
    assert len(arrivals) == 3
    assert arrivals[-1] - arrivals[0] >= 0.08


def test_rejects_unknown_provider_and_kind(fake: FakeLLMServer) -> None:
    with pytest.raises(ValueError):
        fake.enqueue("gemini", Script())
    with pytest.raises(ValueError):
        Script(kind="explode")
