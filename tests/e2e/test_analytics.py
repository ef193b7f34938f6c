"""The analytics read model and /api/analytics end to end: a known sequence of chats through the real command path,
then the exact figures; a rebuild from position 0 gives the same rows; an event applied twice counts once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from chatassist.bootstrap import Container
from chatassist.cli import cmd_projections_status, parser
from chatassist.projection_status import all_statuses
from commands.change_workspace_settings import cmd as change_settings
from projections.analytics.projection import CONVERSATIONS, PREFIX, AnalyticsProjection, AnalyticsView
from tests.conftest import chat, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.scratch import ScratchProjection
from tests.support.visitors import widget_headers

USAGE_KEY = "workspace_id, slot, provider, model"
TABLES = {"conversations": "id", "usage_slots": USAGE_KEY, "usage_hourly": USAGE_KEY, "workspaces": "workspace_id"}


@dataclass
class Story:
    """Workspace A after three conversations; its members; conversation ids and the topics the replies named."""

    admin: Person
    viewer: Person
    agent: Person
    widget_key: str
    a: str
    b: str
    c: str
    topic_a: str
    topic_c: str


def done_of(events: list[tuple[str, Any]]) -> dict[str, Any]:
    """The done event's data (asserts there is one)."""
    found = [d for n, d in events if n == "done"]
    assert found, events
    return found[-1]


def action(client: httpx.Client, widget_key: str, conversation_id: str, verb: str, body: Any = None) -> None:
    """POST a CSAT / resolve / close as the widget, asserting a 200."""
    response = client.post(
        f"/api/conversations/{conversation_id}/{verb}", json=body, headers=widget_headers(widget_key, conversation_id)
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def story(ai_server: Any, container: Container, fake_llm: FakeLLMServer) -> Story:
    """Given workspace A with a 50,000-token budget and three conversations:
    A: two answered turns (the second after Anthropic fell back to OpenAI), CSAT 5, resolved by the visitor;
    B: a turn every provider failed (Anthropic fell back, OpenAI failed 3 times), so queued for a person (rule
       ai_unavailable, topic from the visitor's words), CSAT 2, closed;
    C: one answered turn, still open."""
    fake_llm.reset()
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as client:
        admin, body = sign_up(client, workspace="Analytics A")
        viewer, agent = invite_and_join(client, admin, "viewer"), invite_and_join(client, admin, "agent")
        key = body["widget_key"]
        change_settings.execute(
            container.app,
            change_settings.ChangeWorkspaceSettings(uuid.UUID(admin.workspace_id), {"monthly_token_budget": 50_000}),
        )
        fake_llm.enqueue(
            "anthropic",
            Script(
                text="Open Settings, then Security.",
                input_tokens=1000,
                output_tokens=10,
                cache_read_tokens=500,
                cache_write_tokens=200,
            ),
            Script(kind="status", status=529),
        )
        fake_llm.enqueue("openai", Script(text="Use the link in the email.", input_tokens=2000, output_tokens=20))
        first = chat(client, key, "How do I reset my password?", user_id="visitor-a")
        a = str(first[0][1]["conversation_id"])
        second = chat(client, key, "I did not get the reset email", conversation_id=a, user_id="visitor-a")
        assert done_of(second)["provider"] == "openai"
        action(client, key, a, "csat", {"score": 5})
        action(client, key, a, "resolve")

        fake_llm.enqueue("anthropic", Script(kind="status", status=529))
        fake_llm.enqueue("openai", *[Script(kind="status", status=500)] * 3)
        failed = chat(client, key, "Can I get a refund?", user_id="visitor-b")
        assert [n for n, _ in failed][-1] == "error"
        b = str(failed[0][1]["conversation_id"])
        action(client, key, b, "csat", {"score": 2})
        action(client, key, b, "close")

        fake_llm.enqueue("anthropic", Script(text="Hello! How can I help?", input_tokens=100, output_tokens=5))
        third = chat(client, key, "Hello", user_id="visitor-c")
        c = str(third[0][1]["conversation_id"])
    container.wait_for_projections()
    return Story(admin, viewer, agent, key, a, b, c, done_of(second)["topic"], done_of(third)["topic"])


@pytest.fixture
def api(client: httpx.Client) -> httpx.Client:
    """The HTTP client of the AI-mode server (the one the story was told on)."""
    return client


def get(client: httpx.Client, who: Person, path: str, **params: Any) -> dict[str, Any]:
    """GET an analytics endpoint as ``who``, asserting a 200."""
    response = client.get(f"/api/analytics/{path}", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rows(container: Container, workspace_id: str) -> dict[str, dict[str, Any]]:
    """The analytics rows of a workspace's conversations, by id."""
    assert container.analytics is not None
    found = container.analytics.query(f"SELECT * FROM {CONVERSATIONS} WHERE workspace_id = %s", (workspace_id,))
    return {str(r["id"]): r for r in found}


def test_one_row_per_conversation_with_its_facts(story: Story, container: Container) -> None:
    by_id = rows(container, story.admin.workspace_id)
    a, b, c = by_id[story.a], by_id[story.b], by_id[story.c]
    facts = (
        "status", "resolved", "resolved_by", "turns", "replies", "failed_turns", "model_calls", "fallbacks",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "unknown_cost_calls", "csat",
        "last_provider", "last_model", "last_prompt_version", "visitor_id",
    )  # fmt: skip
    assert tuple(a[k] for k in facts) == (
        "resolved", True, "visitor", 2, 2, 0, 3, 1, 3000, 30, 500, 200, 0, 5, "openai", "gpt-4o-mini", 1, "visitor-a"
    )  # fmt: skip
    assert tuple(b[k] for k in facts) == (
        "closed", False, None, 1, 0, 1, 4, 1, 0, 0, 0, 0, 0, 2, None, None, None, "visitor-b"
    )  # fmt: skip
    assert tuple(c[k] for k in facts) == (
        "open", False, None, 1, 1, 0, 1, 0, 100, 5, 0, 0, 0, None, "anthropic", "claude-sonnet-4-6", 1, "visitor-c"
    )  # fmt: skip
    # 1000 * 3 + 10 * 15 + 200 * 3.75 + 500 * 0.30 (Sonnet) plus 2000 * 0.15 + 20 * 0.60 (gpt-4o-mini), per million
    assert (a["cost_usd"], b["cost_usd"], c["cost_usd"]) == (Decimal("0.004362"), Decimal(0), Decimal("0.000375"))
    # B's topic is its escalation's (no AI answered it): read from the visitor's words by the escalation
    assert (a["topic"], b["topic"], c["topic"]) == (story.topic_a, "Refunds & Cancellation", story.topic_c)
    assert a["pending"] == b["pending"] == c["pending"] == {}
    # the first response time is the difference of the event timestamps of the first message and its reply
    events = stored_events(container, story.c)
    message = next(e for e in events if type(e).__name__ == "UserMessageReceived")
    reply = next(e for e in events if type(e).__name__ == "AssistantReplied")
    expected_ms = ((reply.timestamp - message.timestamp) // timedelta(microseconds=1)) / 1000
    assert c["first_response_ms"] == expected_ms == c["reply_latency_ms_sum"] and expected_ms > 0
    assert a["reply_latency_ms_sum"] > a["first_response_ms"] > 0 and b["first_response_ms"] is None
    assert c["confidence_sum"] == c["last_confidence"]


def test_overview_today(story: Story, api: httpx.Client) -> None:
    body = get(api, story.viewer, "overview")
    assert body["day"] == datetime.now(UTC).date().isoformat() and body["time_zone"] == "UTC"
    assert body["conversations"] == {"value": 3, "previous": 0}
    assert body["cost_usd"] == {"value": "0.004737", "previous": "0"}
    assert body["unknown_cost_calls"] == 0
    assert body["resolution_rate"] == {"value": 0.5, "previous": None}  # A resolved, B closed, C still open
    assert body["tokens_today"] == {"value": 3835, "previous": 0}
    assert body["tokens_this_month"]["value"] == 3835
    assert body["monthly_token_budget"] == 50_000 and body["budget_used"] == pytest.approx(3835 / 50_000)
    assert len(body["hourly"]) == 24 and [h["hour"] for h in body["hourly"]] == list(range(24))
    assert sum(h["conversations"] for h in body["hourly"]) == 3
    ttft, reply = body["avg_time_to_first_token_ms"], body["avg_reply_time_ms"]
    assert ttft["value"] > 0 and reply["value"] >= ttft["value"] and ttft["previous"] is None


def test_activity_feed_and_filters(story: Story, api: httpx.Client) -> None:
    body = get(api, story.agent, "activity")
    assert [i["id"] for i in body["items"]] == [story.c, story.b, story.a]  # newest activity first
    # B escalated (no AI could answer it: queued for a person), then closed
    assert body["counters"] == {"active_now": 1, "escalated": 1, "resolved_today": 1, "avg_csat_today": 3.5}
    a = body["items"][2]
    assert (a["visitor_id"], a["topic"], a["turns"], a["csat"], a["status"]) == (
        "visitor-a", story.topic_a, 2, 5, "resolved"
    )  # fmt: skip
    assert 0 <= body["items"][0]["confidence"] <= 1
    assert [i["id"] for i in get(api, story.agent, "activity", filter="resolved")["items"]] == [story.a]
    assert [i["id"] for i in get(api, story.agent, "activity", filter="pending")["items"]] == [story.c]
    assert [i["id"] for i in get(api, story.agent, "activity", filter="escalated")["items"]] == [story.b]
    assert [i["id"] for i in get(api, story.agent, "activity", limit=1)["items"]] == [story.c]


def test_usage_over_the_default_range(story: Story, api: httpx.Client) -> None:
    body = get(api, story.admin, "usage")
    today = datetime.now(UTC).date()
    assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert body["tokens"] == {"input": 3100, "output": 35, "cache_read": 500, "cache_write": 200, "total": 3835}
    assert (body["cost_usd"], body["unknown_cost_calls"], body["model_calls"]) == ("0.004737", 0, 8)
    assert (body["conversations"], body["cost_per_conversation"]) == (3, "0.001579")
    assert body["resolution_rate"] == 0.5
    assert body["fallback_rate"] == 0.5  # 2 turns of 4 that called a model fell back
    assert len(body["daily"]) == 30 and body["daily"][-1] == {
        "day": today.isoformat(), "conversations": 3, "resolved": 1, "tokens": 3835, "cost_usd": "0.004737"
    }  # fmt: skip
    assert all(d["conversations"] == 0 for d in body["daily"][:-1])
    anthropic = {"calls": 4, "fallbacks": 2, "cost_usd": "0.004425", "unknown_cost_calls": 0, "fallback_rate": 0.5}
    openai = {"calls": 4, "fallbacks": 0, "cost_usd": "0.000312", "unknown_cost_calls": 0, "fallback_rate": 0.0}
    assert body["by_provider"] == [
        {"provider": "anthropic", "model": None, **anthropic,
         "tokens": {"input": 1100, "output": 15, "cache_read": 500, "cache_write": 200, "total": 1815}},
        {"provider": "openai", "model": None, **openai,
         "tokens": {"input": 2000, "output": 20, "cache_read": 0, "cache_write": 0, "total": 2020}},
    ]  # fmt: skip
    assert [(m["provider"], m["model"], m["calls"], m["cost_usd"]) for m in body["by_model"]] == [
        ("anthropic", "claude-sonnet-4-6", 4, "0.004425"),
        ("openai", "gpt-4o-mini", 4, "0.000312"),
    ]
    yesterday = (today - timedelta(days=1)).isoformat()
    empty = get(api, story.admin, "usage", **{"from": yesterday, "to": yesterday})
    assert (empty["conversations"], empty["cost_usd"], empty["tokens"]["total"], empty["daily"][0]["tokens"]) == (
        0, "0", 0, 0
    )  # fmt: skip
    assert empty["cost_per_conversation"] is None and empty["resolution_rate"] is None


def test_topics_and_csat(story: Story, api: httpx.Client, container: Container) -> None:
    body = get(api, story.viewer, "topics")
    assert (body["conversations"], body["avg_csat"], body["rated"]) == (3, 3.5, 2)
    assert body["avg_turns"] == pytest.approx(4 / 3)
    assert body["first_contact_resolution_rate"] == 0.0  # A was resolved, but after two visitor messages
    by_id = rows(container, story.admin.workspace_id)
    assert body["median_first_response_ms"] == pytest.approx(
        (by_id[story.a]["first_response_ms"] + by_id[story.c]["first_response_ms"]) / 2
    )
    topics = {t["topic"]: t for t in body["topics"]}
    assert "Unclassified" not in topics  # B has its escalation's topic
    assert topics["Refunds & Cancellation"] == {
        "topic": "Refunds & Cancellation", "conversations": 1, "ai_resolved_rate": 0.0, "avg_turns": 1.0,
        "avg_csat": 2.0, "rated": 1,
    }  # fmt: skip
    if story.topic_a != story.topic_c:
        assert topics[story.topic_a] == {
            "topic": story.topic_a, "conversations": 1, "ai_resolved_rate": 1.0, "avg_turns": 2.0, "avg_csat": 5.0,
            "rated": 1,
        }  # fmt: skip
    assert sum(t["conversations"] for t in body["topics"]) == 3


def test_another_workspace_sees_none_of_these_figures(story: Story, api: httpx.Client, container: Container) -> None:
    # Given the admin of another workspace (its budget applied by the projection), who asks with workspace A's id
    other, _ = sign_up(api, workspace="Analytics B")
    container.wait_for_projections()
    sneaky = {"workspace_id": story.admin.workspace_id}
    overview = get(api, other, "overview", **sneaky)
    # I expect their own (empty) workspace's figures only
    assert overview["conversations"]["value"] == 0 and overview["cost_usd"]["value"] == "0"
    assert overview["tokens_today"]["value"] == 0 and overview["monthly_token_budget"] == 100_000
    assert get(api, other, "activity", **sneaky)["items"] == []
    usage = get(api, other, "usage", **sneaky)
    assert (usage["conversations"], usage["model_calls"], usage["by_model"]) == (0, 0, [])
    assert get(api, other, "topics", **sneaky)["topics"] == []


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("usage", {"from": "2026-02-30"}, "invalid_date_range"),
        ("usage", {"from": "yesterday"}, "invalid_date_range"),
        ("usage", {"from": "2026-03-02", "to": "2026-03-01"}, "invalid_date_range"),
        ("topics", {"from": "2024-01-01", "to": "2025-01-01"}, "invalid_date_range"),  # 367 days
        ("activity", {"filter": "everything"}, "unknown_filter"),
        ("activity", {"limit": "201"}, "limit_too_large"),
        ("activity", {"limit": "0"}, "invalid_limit"),
    ],
)
def test_bad_input_is_a_422_with_a_stable_code(
    story: Story, api: httpx.Client, path: str, params: dict[str, str], code: str
) -> None:
    response = api.get(f"/api/analytics/{path}", params=params, headers=story.admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code and response.json()["message"].endswith(".")


def test_a_year_is_a_valid_range(story: Story, api: httpx.Client) -> None:
    # 366 days up to today: as long as the ranges go, and inside the default 365-day retention window
    today = datetime.now(UTC).date()
    body = get(api, story.admin, "topics", **{"from": (today - timedelta(days=365)).isoformat()})
    assert body["conversations"] == 3


def _scratch(container: Container) -> ScratchProjection:
    return ScratchProjection(container, PREFIX, TABLES, AnalyticsView, AnalyticsProjection)


def test_a_rebuild_from_zero_gives_the_same_rows_and_a_replayed_event_counts_once(
    story: Story, container: Container
) -> None:
    # Given the live projection caught up at position P
    container.wait_for_projections()
    live = next(r for r in container.runners if r.projection.name == AnalyticsProjection.name)
    position = live.view.max_tracking_id(container.app.name)
    assert position is not None
    scratch = _scratch(container)
    try:
        # When a fresh projection applies every event from 0 to P into empty tables
        applied = scratch.replay(container, position)
        # I expect byte-for-byte the same rows as the incremental run
        assert live.view.max_tracking_id(container.app.name) == position, "the store moved during the test"
        rebuilt = scratch.dump(scratch.prefix)
        assert rebuilt == scratch.dump(PREFIX) and rebuilt["conversations"]
        # and applying the last event again at its position is refused by the tracking row, changing nothing
        event, tracking = applied[-1]
        with pytest.raises(IntegrityError):
            scratch.projection.process_event(event, tracking)
        assert scratch.dump(scratch.prefix) == rebuilt
    finally:
        scratch.drop()


def test_the_same_model_call_applied_twice_counts_once(story: Story, container: Container) -> None:
    # Given a scratch projection that applied one model call of conversation A
    scratch = _scratch(container)
    try:
        notifications = container.app.recorder.select_notifications(1, 100_000, topics=AnalyticsProjection.topics)
        by_id = {n.id: container.app.mapper.to_domain_event(n) for n in notifications}
        ids = [i for i, e in by_id.items() if str(e.originator_id) == story.a]
        started, call = ids[0], next(i for i in ids if type(by_id[i]).__name__ == "ModelCallMade")
        name = container.app.name
        scratch.projection.process_event(by_id[started], Tracking(name, started))
        scratch.projection.process_event(by_id[call], Tracking(name, call))
        once = scratch.dump(scratch.prefix)
        # When the runner delivers it again (a restart, a second runner)
        with pytest.raises(IntegrityError):
            scratch.projection.process_event(by_id[call], Tracking(name, call))
        # I expect the tokens and cost counted once
        assert scratch.dump(scratch.prefix) == once
        row = scratch.view.query(f"SELECT model_calls, input_tokens FROM {scratch.prefix}_conversations")[0]
        assert row == {"model_calls": 1, "input_tokens": 1000}
    finally:
        scratch.drop()


def test_projections_status_reports_position_and_lag(story: Story, container: Container) -> None:
    # Given every projection caught up
    container.wait_for_projections()
    # When the operator asks for their status
    statuses = {s.name: s for s in all_statuses(container)}
    # I expect each at the store's newest position among its topics, with no lag
    assert set(statuses) == {"transcripts", "usage", "analytics", "audit", "monitor", "knowledge"}
    analytics = statuses["analytics"]
    assert analytics.tracking_name == "analytics_v2" and analytics.position == analytics.store_position
    assert (analytics.lag_events, analytics.lag_seconds) == (0, 0.0)
    with pytest.raises(SystemExit, match="unknown projection"):
        all_statuses(container, ["nope"])
    args = parser().parse_args(["projections", "status", "analytics"])
    assert args.fn is cmd_projections_status and args.names == ["analytics"]
