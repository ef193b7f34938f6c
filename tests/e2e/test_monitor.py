"""The monitor read model and /api/monitor end to end: a known sequence of conversations, then the exact rows and
the queue order (priority, then the longest wait); views, filters, keyset pages; a rebuild from position 0 gives
the same rows; bad input is a 422 with a stable code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from chatassist.bootstrap import Container
from domain import handoff
from domain.conversation import Conversation
from domain.escalation import decide
from projections.monitor.projection import CONVERSATIONS, MonitorProjection, MonitorView, preview
from tests.conftest import stored_events
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.scratch import ScratchProjection

HUMAN, LEGAL, REFUND = "I want to talk to a human", "I will sue you, my lawyer will call", "Refund my $500 plan now"


@dataclass
class Story:
    """Workspace A's members and conversations by name (see ``story``); workspace B's admin."""

    admin: Person
    agent: Person
    viewer: Person
    other_admin: Person
    ids: dict[str, str]


class Chats:
    """Conversations of one workspace, told through the aggregate and saved (the agent commands' events)."""

    def __init__(self, container: Container, workspace_id: str) -> None:
        self.app, self.workspace_id = container.app, uuid.UUID(workspace_id)

    def start(self, visitor: str, text: str) -> Conversation:
        """A conversation whose visitor wrote ``text`` (not answered yet)."""
        conversation = Conversation(self.workspace_id, "widget", {"user_id": visitor})
        conversation.receive(str(uuid.uuid4()), text)
        return conversation

    def escalate(self, conversation: Conversation) -> Conversation:
        """The engine's decision on the visitor's messages, then the holding reply; saved."""
        visitor = [t.text for t in conversation.turns if t.role == "user"]
        decision = decide(visitor)
        assert decision.escalates, decision
        reply_to = conversation.pending[-1]
        conversation.escalate(reply_to, decision)
        self.reply(conversation, decision.message or "", confidence=1.0, provider="escalation", topic=decision.topic)
        return self.save(conversation)

    def reply(self, c: Conversation, text: str, *, confidence: float, provider: str = "anthropic", topic: str) -> None:
        """The assistant answers the visitor's waiting message."""
        c.reply(
            str(uuid.uuid4()), c.pending[-1], text, confidence=confidence, topic=topic, provider=provider,
            model="m", prompt_version=1,
        )  # fmt: skip

    def save(self, conversation: Conversation) -> Conversation:
        """Save and return it."""
        self.app.save(conversation)
        return conversation


@pytest.fixture(scope="module")
def story(ai_server: Any, container: Container) -> Story:
    """Given workspace A (an admin, an agent, a viewer) with, in this order:
    human1: asked for a person (P3), waiting;
    legal: a legal threat (P1), waiting;
    refund: a refund over the threshold (P2), claimed by the agent, who replied;
    human2: asked for a person (P3), waiting (after human1);
    returned: asked for a person, claimed by the admin, handed back to the AI, answered again (confidence 0.8);
    resolved: an AI answer (confidence 0.9), CSAT 4, resolved;
    closed: an AI answer, closed by the visitor;
    and workspace B with a person waiting."""
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Monitor A")
        other_admin, _ = sign_up(client, workspace="Monitor B")
        agent, viewer = invite_and_join(client, admin, "agent"), invite_and_join(client, admin, "viewer")
    a = Chats(container, admin.workspace_id)
    human1 = a.escalate(a.start("v-human1", HUMAN))
    legal = a.escalate(a.start("v-legal", LEGAL))
    refund = a.escalate(a.start("v-refund", REFUND))
    refund.claim(agent.account_id)
    refund.agent_reply(agent.account_id, str(uuid.uuid4()), "Hi, I'm Sam from billing. Looking at it now.")
    refund.add_note(agent.account_id, str(uuid.uuid4()), "Customer since 2021; check the invoice.")
    a.save(refund)
    human2 = a.escalate(a.start("v-human2", HUMAN))
    returned = a.escalate(a.start("v-returned", HUMAN))
    returned.claim(admin.account_id)
    returned.return_to_ai(admin.account_id)
    returned.receive(str(uuid.uuid4()), "Thanks, one more question about invoices")
    a.reply(returned, "Invoices are under Billing.", confidence=0.8, topic="Billing")
    a.save(returned)
    resolved = a.start("v-resolved", "How do I reset my password?")
    a.reply(resolved, "Open Settings, then Security.", confidence=0.9, topic="Passwords & Auth")
    resolved.rate(4, None)
    resolved.resolve("visitor")
    a.save(resolved)
    closed = a.start("v-closed", "hello")
    a.reply(closed, "Hello! How can I help?", confidence=0.5, topic="Other")
    closed.close("visitor")
    a.save(closed)
    b = Chats(container, other_admin.workspace_id)
    other = b.escalate(b.start("v-other", HUMAN))
    container.wait_for_projections()
    ids = {
        name: str(c.id)
        for name, c in {
            "human1": human1, "legal": legal, "refund": refund, "human2": human2, "returned": returned,
            "resolved": resolved, "closed": closed, "other": other,
        }.items()
    }  # fmt: skip
    return Story(admin, agent, viewer, other_admin, ids)


@pytest.fixture
def api(client: httpx.Client) -> httpx.Client:
    """The HTTP client of the AI-mode server."""
    return client


def rows(container: Container, workspace_id: str) -> dict[str, dict[str, Any]]:
    """The monitor rows of a workspace, by conversation id."""
    assert container.analytics is not None
    found = container.analytics.query(f"SELECT * FROM {CONVERSATIONS} WHERE workspace_id = %s", (workspace_id,))
    return {str(r["id"]): r for r in found}


def timestamp_of(container: Container, conversation_id: str, name: str, nth: int = 0) -> Any:
    """The timestamp of the ``nth`` stored event called ``name`` of a conversation."""
    return [e.timestamp for e in stored_events(container, conversation_id) if type(e).__name__ == name][nth]


def monitor(api: httpx.Client, who: Person, **params: Any) -> dict[str, Any]:
    """GET /api/monitor as ``who``, asserting a 200."""
    response = api.get("/api/monitor", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(story: Story, body: dict[str, Any]) -> list[str]:
    """The story's names of the page's rows, in order."""
    by_id = {v: k for k, v in story.ids.items()}
    return [by_id[item["id"]] for item in body["items"]]


def test_one_row_per_conversation_with_its_state_escalation_and_last_message(
    story: Story, container: Container
) -> None:
    by_id = rows(container, story.admin.workspace_id)
    assert set(by_id) == {v for k, v in story.ids.items() if k != "other"}
    facts = (
        "state", "visitor_id", "turns", "notes", "priority", "rule", "route", "assignee", "last_message_by",
        "confidence", "csat", "topic",
    )  # fmt: skip

    def row(name: str) -> tuple[Any, ...]:
        return tuple(by_id[story.ids[name]][k] for k in facts)

    holding = "assistant"
    agent = story.agent.account_id
    assert row("human1") == ("queued", "v-human1", 1, 0, 3, "human_requested", "support", None, holding, None, None,
                             "Other")  # fmt: skip
    assert row("legal") == ("queued", "v-legal", 1, 0, 1, "p1_legal", "legal", None, holding, None, None,
                            "Legal & Compliance")  # fmt: skip
    assert row("refund") == ("agent", "v-refund", 1, 1, 2, "p2_refund_over_threshold", "billing", agent, "agent",
                             None, None, "Refunds & Cancellation")  # fmt: skip
    assert row("returned") == ("returned_to_ai", "v-returned", 2, 0, 3, "human_requested", "support", None,
                               "assistant", 0.8, None, "Billing")  # fmt: skip
    assert row("resolved") == ("resolved", "v-resolved", 1, 0, None, None, None, None, "assistant", 0.9, 4,
                               "Passwords & Auth")  # fmt: skip
    assert row("closed") == ("closed", "v-closed", 1, 0, None, None, None, None, "assistant", 0.5, None, "Other")
    # waiting since the escalation; claimed ones wait no more; the last message is the visitor-visible one
    human1 = by_id[story.ids["human1"]]
    assert human1["queued_at"] == human1["escalated_at"] == timestamp_of(container, story.ids["human1"], "Escalated")
    refund = by_id[story.ids["refund"]]
    assert refund["queued_at"] is None
    assert refund["claimed_at"] == timestamp_of(container, story.ids["refund"], "AgentClaimed")
    assert refund["last_message"] == "Hi, I'm Sam from billing. Looking at it now."
    assert by_id[story.ids["returned"]]["last_message"] == "Invoices are under Billing."
    closed = by_id[story.ids["closed"]]
    closed_at = timestamp_of(container, story.ids["closed"], "Closed")
    assert (closed["closed_reason"], closed["closed_at"]) == ("visitor", closed_at)
    for name in story.ids.keys() - {"other"}:
        events = stored_events(container, story.ids[name])
        r = by_id[story.ids[name]]
        assert (r["last_activity_at"], r["version"]) == (events[-1].timestamp, len(events))


def test_the_state_column_agrees_with_the_domain(container: Container) -> None:
    # Given every handler, status and returned flag
    combos = [(h, s, r) for h in ("ai", "queued", "assigned", "agent") for s in ("open", "resolved", "closed")
              for r in (False, True)]  # fmt: skip
    with psycopg.connect(container.database_url) as conn:
        conn.execute(f"CREATE TEMP TABLE states (LIKE {CONVERSATIONS} INCLUDING ALL)".encode())
        for h, s, r in combos:
            conn.execute(
                "INSERT INTO states (id, workspace_id, channel, handler, status, returned, started_at,"
                " last_activity_at, version) VALUES (%s, %s, 'widget', %s, %s, %s, now(), now(), 1)",
                (uuid.uuid4(), uuid.uuid4(), h, s, r),
            )
        # When the database computes the state column
        found = conn.execute("SELECT handler, status, returned, state FROM states").fetchall()
    # I expect handoff.state_of's answer for each
    assert sorted(found) == sorted((h, s, r, handoff.state_of(h, s, r)) for h, s, r in combos)


def test_the_queue_is_by_priority_then_longest_wait(story: Story, api: httpx.Client) -> None:
    body = monitor(api, story.agent, view="queue")
    assert names(story, body) == ["legal", "human1", "human2"]
    assert body["view"] == "queue" and body["next_cursor"] is None
    assert all(item["queued_at"] is not None for item in body["items"])


def test_escalations_are_every_escalated_chat_not_closed_in_the_same_order(story: Story, api: httpx.Client) -> None:
    body = monitor(api, story.admin, view="escalations")
    assert names(story, body) == ["legal", "refund", "human1", "human2", "returned"]


def test_active_and_closed_views(story: Story, api: httpx.Client) -> None:
    active = names(story, monitor(api, story.agent))  # the default view
    assert active == ["returned", "human2", "refund", "legal", "human1"]  # the latest activity first
    assert names(story, monitor(api, story.agent, view="closed")) == ["closed", "resolved"]


def test_filters_by_team_and_assignee(story: Story, api: httpx.Client) -> None:
    assert names(story, monitor(api, story.agent, view="escalations", route="support")) == [
        "human1", "human2", "returned"
    ]  # fmt: skip
    assert names(story, monitor(api, story.agent, view="active", assignee="me")) == ["refund"]
    assert names(story, monitor(api, story.admin, view="active", assignee=story.agent.account_id)) == ["refund"]
    assert names(story, monitor(api, story.admin, view="active", assignee="me")) == []
    unassigned = monitor(api, story.agent, view="escalations", assignee="none")
    assert names(story, unassigned) == ["legal", "human1", "human2", "returned"]
    assert monitor(api, story.agent, view="queue", route="billing")["items"] == []


def test_keyset_pages_walk_the_whole_view_in_order(story: Story, api: httpx.Client) -> None:
    for view, expected in (
        ("escalations", ["legal", "refund", "human1", "human2", "returned"]),
        ("active", ["returned", "human2", "refund", "legal", "human1"]),
    ):
        seen: list[str] = []
        params: dict[str, Any] = {"view": view, "limit": 2}
        while True:
            body = monitor(api, story.agent, **params)
            assert len(body["items"]) <= 2
            seen += names(story, body)
            if body["next_cursor"] is None:
                break
            params["cursor"] = body["next_cursor"]
        assert seen == expected


def test_another_workspace_sees_only_its_own(story: Story, api: httpx.Client) -> None:
    body = monitor(api, story.other_admin, view="queue")
    assert [item["id"] for item in body["items"]] == [story.ids["other"]]
    assert monitor(api, story.other_admin, view="closed")["items"] == []


def test_viewers_may_not_read_the_monitor(story: Story, api: httpx.Client) -> None:
    response = api.get("/api/monitor", headers=story.viewer.headers)
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"view": "waiting"}, "unknown_view"),
        ({"limit": 201}, "limit_too_large"),
        ({"limit": 0}, "invalid_limit"),
        ({"assignee": "bob"}, "invalid_assignee"),
        ({"route": "x" * 61}, "invalid_route"),
        ({"route": "billing;drop"}, "invalid_route"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"sort": "priority"}, "unknown_parameter"),
    ],
)
def test_bad_input_is_a_422_with_a_stable_code(
    story: Story, api: httpx.Client, params: dict[str, Any], code: str
) -> None:
    for path in ("/api/monitor", "/api/monitor/live"):
        # a live stream is always the first page: it takes no cursor
        code_here = "unknown_parameter" if path.endswith("live") and "cursor" in params else code
        response = api.get(path, params=params, headers=story.agent.headers)
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["code"] == code_here and body["message"], body


def test_a_cursor_of_another_view_is_refused(story: Story, api: httpx.Client) -> None:
    first = monitor(api, story.agent, view="active", limit=1)
    assert first["next_cursor"]
    response = api.get(
        "/api/monitor", params={"view": "queue", "cursor": first["next_cursor"]}, headers=story.agent.headers
    )
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


def test_the_preview_is_folded_and_clipped() -> None:
    assert preview("a\n  b") == "a b"
    clipped = preview("word " * 100)
    assert len(clipped) == 160 and clipped.endswith("…")


def _scratch(container: Container) -> ScratchProjection:
    return ScratchProjection(container, "monitor_v1", {"conversations": "id"}, MonitorView, MonitorProjection)


def test_a_rebuild_from_zero_gives_the_same_rows_and_a_replayed_event_changes_nothing(
    story: Story, container: Container
) -> None:
    # Given the live projection caught up at position P
    container.wait_for_projections()
    live = next(r for r in container.runners if r.projection.name == MonitorProjection.name)
    position = live.view.max_tracking_id(container.app.name)
    assert position is not None
    scratch = _scratch(container)
    try:
        # When a fresh projection applies every event from 0 to P into an empty table
        applied = scratch.replay(container, position)
        # I expect byte-for-byte the same rows as the incremental run
        assert live.view.max_tracking_id(container.app.name) == position, "the store moved during the test"
        rebuilt = scratch.dump(scratch.prefix)
        assert rebuilt == scratch.dump("monitor_v1") and len(rebuilt["conversations"]) >= len(story.ids)
        # and applying the last event again at its position is refused by the tracking row, changing nothing
        event, tracking = applied[-1]
        with pytest.raises(IntegrityError):
            scratch.projection.process_event(event, tracking)
        assert scratch.dump(scratch.prefix) == rebuilt
    finally:
        scratch.drop()


def test_an_event_without_a_handler_stops_the_projection_naming_it(container: Container) -> None:
    scratch = _scratch(container)
    try:

        class Unexpected:
            pass

        with pytest.raises(TypeError, match=r"monitor_v1: no handler for .*Unexpected at position 12345"):
            scratch.projection.process_event(Unexpected(), Tracking(container.app.name, 12345))
        assert scratch.view.max_tracking_id(container.app.name) is None
    finally:
        scratch.drop()


def test_the_monitor_and_live_endpoints_are_in_the_openapi_schema(api: httpx.Client) -> None:
    paths = api.get("/schema/openapi.json").json()["paths"]
    ids = {
        path: paths[path]["get"]["operationId"] for path in ("/api/monitor", "/api/monitor/live", "/api/analytics/live")
    }
    assert ids == {
        "/api/monitor": "getMonitor",
        "/api/monitor/live": "streamMonitor",
        "/api/analytics/live": "streamAnalytics",
    }
    params = {p["name"] for p in paths["/api/monitor"]["get"]["parameters"]}
    assert params == {"view", "route", "assignee", "cursor", "limit"}
