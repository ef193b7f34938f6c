"""Metrics and logs (issue 12, part 6): the request id on stored events, its sanity rule, who reads /metrics, the
JSON log line, and the cap on model-name labels."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

from chatassist.logformat import JsonFormatter, RequestIdFilter
from commands._metrics import MAX_MODELS, model_label
from commands.application import ChatAssistApp
from domain.correlation import METADATA_KEY, REQUEST_ID, request_id_of
from tests.support.every_event import every_event_aggregates
from web.observability import MetricsAccess, request_id_from

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo", "AGGREGATE_CACHE_MAXSIZE": "0"}


def test_every_event_stores_the_request_id_and_every_aggregate_loads_as_before() -> None:
    # Given every kind of aggregate driven through every event, saved while a request id is set
    app = ChatAssistApp(env=POPO)
    aggregates = every_event_aggregates()
    token = REQUEST_ID.set("req-123")
    try:
        for aggregate in aggregates:
            app.save(aggregate)
    finally:
        REQUEST_ID.reset(token)
    # When each is read back from the store
    for aggregate in aggregates:
        events = list(app.events.get(aggregate.id))
        # I expect the id on each stored event, under _metadata, and the aggregate rebuilt as without it
        assert [request_id_of(e) for e in events] == ["req-123"] * len(events), type(aggregate).__name__
        assert all(getattr(e, METADATA_KEY) == {"request_id": "req-123"} for e in events)
        without = [without_metadata(e) for e in events]
        assert vars(replay(events)) == vars(replay(without)), type(aggregate).__name__


def without_metadata(event: Any) -> Any:
    copy = object.__new__(type(event))
    object.__setattr__(copy, "__dict__", {k: v for k, v in vars(event).items() if k != METADATA_KEY})
    return copy


def replay(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    assert aggregate is not None
    return aggregate


def test_an_event_saved_outside_a_request_carries_nothing_new() -> None:
    app = ChatAssistApp(env=POPO)
    aggregate = every_event_aggregates()[0]
    app.save(aggregate)
    stored = app.recorder.select_notifications(1, 100)
    assert stored and all(b"_metadata" not in n.state for n in stored)
    assert all(request_id_of(e) is None for e in app.events.get(aggregate.id))


def scope(*headers: tuple[str, str]) -> Any:
    return {"headers": [(k.lower().encode(), v.encode()) for k, v in headers]}


def test_a_sane_incoming_request_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_from(scope(("X-Request-ID", "abc-123_4.5:6"))) == "abc-123_4.5:6"
    for odd in ("", "two words", "x" * 129, "semi;colon", "ünïcode", "<script>"):
        replaced = request_id_from(scope(("X-Request-ID", odd)))
        assert replaced != odd and len(replaced) == 32 and int(replaced, 16) >= 0
    assert len(request_id_from(scope())) == 32


def request(host: str, *headers: tuple[str, str]) -> Any:
    found = {k.lower(): v for k, v in headers}
    return SimpleNamespace(client=SimpleNamespace(host=host), headers=found, scope=scope(*headers))


def test_metrics_are_read_with_the_token_or_from_loopback_when_there_is_none() -> None:
    # Without a token: a loopback peer, not forwarded by a proxy
    open_ = MetricsAccess()
    assert open_.allows(request("127.0.0.1")) and open_.allows(request("::1"))
    assert not open_.allows(request("203.0.113.9"))
    assert not open_.allows(request("127.0.0.1", ("X-Forwarded-For", "203.0.113.9")))  # a proxy on this host
    assert not open_.allows(request("127.0.0.1", ("Forwarded", "for=203.0.113.9")))
    # With a token: that bearer token, from anywhere; nothing else, loopback included
    guarded = MetricsAccess("s3cret-token")
    assert guarded.allows(request("203.0.113.9", ("Authorization", "Bearer s3cret-token")))
    assert not guarded.allows(request("127.0.0.1"))
    assert not guarded.allows(request("127.0.0.1", ("Authorization", "Bearer wrong")))
    assert not guarded.allows(request("127.0.0.1", ("Authorization", "Basic s3cret-token")))


def test_a_json_log_line_carries_the_request_id() -> None:
    record = logging.LogRecord("chatassist.turn", logging.INFO, __file__, 1, "turn %s done", ("c-1",), None)
    token = REQUEST_ID.set("req-9")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-9" and line["message"] == "turn c-1 done" and line["level"] == "INFO"
    outside = logging.LogRecord("chatassist", logging.WARNING, __file__, 1, "plain", (), None)
    RequestIdFilter().filter(outside)
    assert "request_id" not in json.loads(JsonFormatter().format(outside))


def test_model_names_become_labels_up_to_a_cap() -> None:
    assert model_label("claude-sonnet-4-6") == "claude-sonnet-4-6"
    assert model_label("gpt 4 with spaces") == "other"
    names = [f"claude-test-{n}" for n in range(MAX_MODELS + 5)]
    labels = [model_label(n) for n in names]
    assert labels.count("other") >= 5 and model_label("claude-sonnet-4-6") == "claude-sonnet-4-6"
