"""Events stored before issue 17 still read: a ModelCallMade without a request hash says "not recorded" (None), an
agent's action without a workspace replays as before; the request hash is of the exact provider body."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from commands.ai import request as provider_request
from commands.ai.base import PromptRequest
from commands.replay_conversation.events import replayed
from commands.replay_conversation.state import state_of
from domain.conversation import Conversation, ModelCall, Turn


def _call() -> ModelCall:
    return ModelCall(
        "c1", "anthropic", "claude-sonnet-4-6", 1, 1, 10, 5, 0, 0, 100.0, 300.0, None, "ok", None, "ab" * 32
    )


def _older(stored: StoredEvent, drop: tuple[str, ...]) -> StoredEvent:
    """The same event as an older release stored it: without ``drop`` and without a class version."""
    state = json.loads(stored.state)
    for key in (*drop, "class_version"):
        state.pop(key, None)
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode())


def test_events_stored_before_the_request_hash_and_the_workspace_field_still_replay() -> None:
    # Given a conversation with a model call and an agent's claim, stored as the release before issue 17 stored them
    app = Application[object]()
    conversation = Conversation(uuid4(), "widget", {"user_id": "v1"})
    conversation.receive("m1", "Hello?")
    conversation.record_model_call("m1", _call())
    conversation.claim("agent-1")
    events = conversation.collect_events()
    stored = [app.mapper.to_stored_event(e) for e in events]
    dropped = {3: ("request_sha256",), 4: ("workspace_id",)}  # the model call, the claim
    old = [_older(s, dropped.get(s.originator_version, ())) for s in stored]
    # When they are read back and folded by the aggregate
    decoded = [app.mapper.to_domain_event(s) for s in old]
    aggregate = None
    for e in decoded:
        aggregate = e.mutate(aggregate)
    # I expect the hash to read None ("not recorded") and the claim to have no workspace, and the same state as live
    call = replayed(decoded[2], personal=True)
    assert call.type == "ModelCallMade" and call.payload["request_sha256"] is None
    assert getattr(decoded[3], "workspace_id", None) is None
    assert isinstance(aggregate, Conversation) and state_of(aggregate) == state_of(conversation)
    # while the events as stored now carry both
    assert json.loads(stored[2].state)["request_sha256"] == "ab" * 32
    assert json.loads(stored[3].state)["workspace_id"]


def test_the_request_hash_is_of_the_exact_body_each_provider_is_sent() -> None:
    # Given an assembled request
    request = PromptRequest("claude-sonnet-4-6", "Be brief.", [Turn("user", "hi"), Turn("assistant", "hello")],
                            [Turn("user", "Zoë asks: où?")], 300)  # fmt: skip
    # When it is hashed for Anthropic
    body = provider_request.body("anthropic", request)
    # I expect the Messages API body, and the hash of its canonical JSON with the provider's name
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    assert [m["content"] for m in body["messages"]] == ["hi", "hello", "Zoë asks: où?"]
    assert body["max_tokens"] == 300 and body["stream"] is True
    canonical = json.dumps({"provider": "anthropic", "body": body}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()  # fmt: skip
    assert provider_request.sha256("anthropic", request) == hashlib.sha256(canonical).hexdigest()
    # and any change to what the model is told to change the hash
    digests = {
        provider_request.sha256("anthropic", request),
        provider_request.sha256("openai", request),
        provider_request.sha256("anthropic", replace(request, system="Be brief!")),
        provider_request.sha256("anthropic", replace(request, history=[Turn("user", "Zoë asks: où ?")])),
        provider_request.sha256("anthropic", replace(request, max_tokens=301)),
    }
    assert len(digests) == 5
