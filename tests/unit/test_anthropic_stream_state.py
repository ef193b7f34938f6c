"""Decoding of the Messages stream events (the wire format is exercised end to end in tests/e2e)."""

from __future__ import annotations

import pytest

from commands.ai.anthropic_provider import _StreamState
from commands.ai.base import OVERLOADED, ProviderError


def test_usage_text_and_completion_are_folded_in_order() -> None:
    state = _StreamState("claude-sonnet-4-6")
    start = {
        "type": "message_start",
        "message": {
            "model": "claude-sonnet-4-6",
            "usage": {
                "input_tokens": 12,
                "output_tokens": 1,
                "cache_read_input_tokens": 900,
                "cache_creation_input_tokens": 0,
            },
        },
    }
    assert state.apply(start) is None
    assert state.apply({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}) == "Hi"
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}
    assert state.apply(delta) is None
    assert not state.finished
    state.apply({"type": "message_stop"})
    assert state.finished and state.started and state.stop_reason == "end_turn"
    assert (state.usage.input_tokens, state.usage.output_tokens, state.usage.cache_read_tokens) == (12, 7, 900)


def test_an_error_event_mid_stream_is_a_classified_provider_error() -> None:
    state = _StreamState("m")
    with pytest.raises(ProviderError) as err:
        state.apply({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert err.value.kind == OVERLOADED and err.value.retryable
