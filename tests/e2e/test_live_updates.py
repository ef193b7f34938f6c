"""Live updates end to end: projections publish a notice to Redis after each commit; every web process subscribed
to Redis wakes its SSE clients, which get the fresh view within seconds. Redis down: the projection carries on and
the clients converge on their heartbeat re-reads."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from domain.conversation import Conversation
from projections._live import LivePublisher, channel
from projections._paging import PageApplier
from projections.monitor.projection import MonitorProjection, MonitorView
from read_api._live import LiveHub
from tests.conftest import chat, generous_limits
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.live import LiveReader
from tests.support.scratch import ScratchProjection
from tests.support.server import ThreadedServer
from web.app import create_app

NO_HEARTBEAT = 600.0  # only a Redis notice can wake these clients within a test's timeouts


def serve(container: Container, hub: LiveHub) -> ThreadedServer:
    """One more web process: the real app with its own Redis subscription."""
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
        live=hub,
    )
    return ThreadedServer(app).start()


@pytest.fixture(scope="module")
def servers(container: Container) -> Iterator[tuple[ThreadedServer, ThreadedServer, ThreadedServer]]:
    """Two web processes subscribed to Redis (no heartbeat within the tests) and one without Redis that
    re-reads every half second."""
    one = serve(container, LiveHub(container.redis_url, heartbeat_s=NO_HEARTBEAT))
    two = serve(container, LiveHub(container.redis_url, heartbeat_s=NO_HEARTBEAT))
    polling = serve(container, LiveHub(None, heartbeat_s=0.5))
    yield one, two, polling
    for server in (one, two, polling):
        server.stop()


@pytest.fixture
def team(servers: tuple[ThreadedServer, ...]) -> tuple[Person, Person, str]:
    """A fresh workspace: its admin, an agent, and the widget key."""
    with httpx.Client(base_url=servers[0].base_url, timeout=20) as client:
        admin, body = sign_up(client, workspace="Live")
        agent = invite_and_join(client, admin, "agent")
    return admin, agent, body["widget_key"]


def row_of(data: dict[str, Any], conversation_id: str) -> dict[str, Any] | None:
    """The monitor row of a conversation in a page, if it is there."""
    return next((r for r in data["items"] if r["id"] == conversation_id), None)


def holding_reply_shown(conversation_id: str) -> Any:
    """An ``update`` whose page shows the conversation queued with the holding reply as its last message."""

    def match(name: str, data: Any) -> bool:
        row = row_of(data["data"], conversation_id) if name == "update" else None
        return row is not None and row["state"] == "queued" and row["last_message_by"] == "assistant"

    return match


def positions(container: Container, conversation_id: str) -> list[int]:
    """The notification ids of the conversation's events, oldest first."""
    newest = container.app.recorder.max_notification_id() or 0
    notifications = container.app.recorder.select_notifications(max(1, newest - 50), 100)
    return [n.id for n in notifications if str(n.originator_id) == conversation_id]


def last_position(container: Container, conversation_id: str) -> int:
    """The notification id of the conversation's newest event."""
    return positions(container, conversation_id)[-1]


def test_an_sse_client_sees_a_chat_escalate_within_seconds(
    servers: tuple[ThreadedServer, ...], team: tuple[Person, Person, str], container: Container
) -> None:
    _admin, agent, key = team
    # Given an agent watching the queue of an empty workspace
    reader = LiveReader(servers[0].base_url, "/api/monitor/live", agent.headers, {"view": "queue"}).start()
    try:
        assert reader.status == 200
        name, snapshot = reader.next()
        assert name == "snapshot" and snapshot["data"]["items"] == [] and snapshot["data"]["view"] == "queue"
        # When a visitor asks for a person
        with httpx.Client(base_url=servers[0].base_url, timeout=20) as client:
            sent = time.monotonic()
            events = chat(client, key, "I want to talk to a human", user_id="visitor-live")
        conversation_id = str(events[0][1]["conversation_id"])
        # I expect an update with the conversation in the queue within a few seconds, naming it as changed
        name, update = reader.next(5.0, holding_reply_shown(conversation_id))
        assert time.monotonic() - sent < 5.0
        assert conversation_id in update["changed"]
        row = row_of(update["data"], conversation_id)
        assert row is not None and (row["rule"], row["priority"], row["visitor_id"]) == ("human_requested", 3,
                                                                                          "visitor-live")  # fmt: skip
        # woken by a notice of one of its commits (the page may already show later ones)
        assert update["position"] in positions(container, conversation_id)
    finally:
        reader.close()


def test_two_web_processes_both_deliver_the_same_notice(
    servers: tuple[ThreadedServer, ...], team: tuple[Person, Person, str], container: Container
) -> None:
    admin, agent, key = team
    # Given an agent on web process one and an admin on web process two, both watching escalations
    readers = [
        LiveReader(servers[0].base_url, "/api/monitor/live", agent.headers, {"view": "escalations"}).start(),
        LiveReader(servers[1].base_url, "/api/monitor/live", admin.headers, {"view": "escalations"}).start(),
    ]
    try:
        for reader in readers:
            assert reader.next()[0] == "snapshot"
        # When a chat escalates through web process one
        with httpx.Client(base_url=servers[0].base_url, timeout=20) as client:
            events = chat(client, key, "Please get me a real person", user_id="visitor-two")
        conversation_id = str(events[0][1]["conversation_id"])
        # I expect both processes to push it, woken by a notice of one of its commits (neither re-reads on a timer
        # here: only a notice through Redis can wake them)
        for reader in readers:
            _, update = reader.next(5.0, holding_reply_shown(conversation_id))
            assert update["position"] in positions(container, conversation_id)
    finally:
        for reader in readers:
            reader.close()


def test_without_redis_a_client_converges_on_its_heartbeat(
    servers: tuple[ThreadedServer, ...], team: tuple[Person, Person, str]
) -> None:
    _admin, agent, key = team
    # Given a web process with no Redis subscription (every notice lost), re-reading every half second
    reader = LiveReader(servers[2].base_url, "/api/monitor/live", agent.headers, {"view": "active"}).start()
    try:
        assert reader.next()[0] == "snapshot"
        # When nothing changes, I expect heartbeats
        assert reader.next(3.0)[0] == "heartbeat"
        # When a chat escalates, I expect the update anyway, without a position (no notice said it)
        with httpx.Client(base_url=servers[2].base_url, timeout=20) as client:
            events = chat(client, key, "I want to talk to a human", user_id="visitor-poll")
        conversation_id = str(events[0][1]["conversation_id"])
        _, update = reader.next(5.0, holding_reply_shown(conversation_id))
        assert update["position"] is None
    finally:
        reader.close()


def test_a_stream_ends_after_its_maximum_duration_so_the_client_reconnects(
    container: Container, team: tuple[Person, Person, str]
) -> None:
    _, agent, _ = team
    # Given a web process whose streams last one second
    server = serve(container, LiveHub(None, heartbeat_s=0.3, max_stream_s=1.0))
    reader = LiveReader(server.base_url, "/api/monitor/live", agent.headers).start()
    try:
        # When the second has passed, I expect an end event, after the snapshot and heartbeats
        assert reader.next()[0] == "snapshot"
        name, data = reader.next(3.0, lambda n, d: n != "heartbeat")
        assert (name, data) == ("end", {"reason": "max_duration", "reconnect": True})
        # and the server to close the stream
        assert reader.ended(3.0)
    finally:
        reader.close()
        server.stop()


def test_the_analytics_stream_pushes_fresh_figures(
    servers: tuple[ThreadedServer, ...], team: tuple[Person, Person, str]
) -> None:
    admin, _agent, key = team
    with httpx.Client(base_url=servers[1].base_url, timeout=20) as client:
        viewer = invite_and_join(client, admin, "viewer")
    # Given a viewer watching the overview and the activity feed (on web process two)
    reader = LiveReader(servers[1].base_url, "/api/analytics/live", viewer.headers).start()
    try:
        name, snapshot = reader.next()
        assert name == "snapshot" and set(snapshot["data"]) == {"overview", "activity"}
        assert snapshot["data"]["overview"]["conversations"]["value"] == 0
        # When a visitor chats through web process one
        with httpx.Client(base_url=servers[0].base_url, timeout=20) as client:
            events = chat(client, key, "I want to talk to a human", user_id="visitor-figures")
        conversation_id = str(events[0][1]["conversation_id"])

        # I expect the new conversation counted and listed
        def counted(name: str, data: Any) -> bool:
            figures = data["data"]
            listed = [i["id"] for i in figures["activity"]["items"]]
            return name == "update" and figures["overview"]["conversations"]["value"] == 1 and conversation_id in listed

        _, update = reader.next(5.0, counted)
        assert set(update["changed"]) <= {"overview", "activity"} and update["changed"]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/analytics/live", {"dashboards": "overview,nope"}, "unknown_dashboard"),
        ("/api/analytics/live", {"dashboards": ""}, "unknown_dashboard"),
        ("/api/analytics/live", {"filter": "open"}, "unknown_filter"),
        ("/api/analytics/live", {"limit": 500}, "limit_too_large"),
        ("/api/analytics/live", {"from": "yesterday"}, "invalid_date_range"),
        ("/api/analytics/live", {"view": "queue"}, "unknown_parameter"),
    ],
)
def test_bad_live_input_is_a_422_before_any_stream(
    servers: tuple[ThreadedServer, ...], team: tuple[Person, Person, str], path: str, params: Any, code: str
) -> None:
    admin, _, _ = team
    with httpx.Client(base_url=servers[0].base_url, timeout=20) as client:
        response = client.get(path, params=params, headers=admin.headers)
    assert response.status_code == 422 and response.json()["code"] == code, response.text


def test_a_notice_is_published_after_the_commit(container: Container, team: tuple[Person, Person, str]) -> None:
    admin, _, _ = team
    workspace_id = uuid.UUID(admin.workspace_id)
    client = redis.Redis.from_url(container.redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel(workspace_id))
    try:
        pubsub.get_message(timeout=1.0)  # the subscription's confirmation
        # When a conversation starts in the workspace
        conversation = Conversation(workspace_id, "widget", {"user_id": "v-notice"})
        container.app.save(conversation)
        # I expect a notice from the monitor projection naming the workspace and the event's position, sent once
        # the row is there to read
        position = last_position(container, str(conversation.id))
        deadline, got = time.monotonic() + 5, None
        while time.monotonic() < deadline and got is None:
            message = pubsub.get_message(timeout=0.5)
            body = json.loads(message["data"]) if message else None
            if body and body["projection"] == MonitorProjection.name:
                got = body
        assert got == {"projection": "monitor_v1", "workspace_id": str(workspace_id), "position": position}
        assert container.analytics is not None
        seen = container.analytics.query("SELECT id FROM monitor_v1_conversations WHERE id = %s", (conversation.id,))
        assert seen == [{"id": conversation.id}]
    finally:
        pubsub.close()
        client.close()


def test_the_projection_carries_on_when_redis_is_down(container: Container, team: tuple[Person, Person, str]) -> None:
    admin, _, _ = team
    # Given a monitor projection whose Redis is unreachable, applying pages as the runner does
    scratch = ScratchProjection(container, "monitor_v1", {"conversations": "id"}, MonitorView, MonitorProjection)
    scratch.view.live = publisher = LivePublisher("redis://127.0.0.1:1/0", "monitor_scratch", scratch.view)
    applier = PageApplier(container.app.name, container.app.mapper, scratch.projection, scratch.view)
    try:
        conversation = Conversation(uuid.UUID(admin.workspace_id), "widget", {"user_id": "v-down"})
        conversation.receive(str(uuid.uuid4()), "hello")
        conversation.close("visitor")
        container.app.save(conversation)
        position = last_position(container, str(conversation.id))
        notifications = container.app.recorder.select_notifications(position - 2, 3)
        # When it applies the conversation's three events as one page
        with psycopg.connect(container.database_url, autocommit=True, row_factory=dict_row) as conn:
            started = time.monotonic()
            applier.apply(conn, notifications, None)
            took = time.monotonic() - started
        # I expect the rows and the position committed without waiting on Redis, and the notice dropped, not
        # retried forever
        assert took < 1.0, took
        rows = scratch.view.query(f"SELECT state, turns FROM {scratch.prefix}_conversations")
        assert rows == [{"state": "closed", "turns": 1}]
        assert scratch.view.max_tracking_id(container.app.name) == position
        deadline = time.monotonic() + 10
        while publisher.dropped < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert publisher.dropped == 1 and publisher.queue.empty()
    finally:
        scratch.drop()
