"""Integrations delivered by real Dramatiq worker processes on the real Redis broker, to local receivers.

The test process runs the outbox follower (like any worker would) and the sweep (like the scheduler would); the
deliveries are made by ``chatassist worker --actors-only`` processes, which the tests start and kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row

from chatassist.bootstrap import Container
from chatassist.integrations import start_follower
from chatassist.outbox_runner import FollowingRunner
from commands.create_workspace import cmd as create_ws
from commands.integrations import hubspot as hubspot_cmd
from commands.integrations import slack as slack_cmd
from commands.integrations import webhooks as wh
from commands.integrations import zendesk as zendesk_cmd
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.conversation import Conversation
from domain.escalation import Decision
from projections.integrations.projection import DELIVERIES, TARGETS
from tests.fakes.receivers import FakeHubSpot, FakeSlack, FakeZendesk, Receiver
from workers.broker import setup_broker
from workers.sweep import sweep

KEY_SPEC = generate_key_spec("t1")
SCHEDULE = "0.5,1,1,2,2,3"  # six retries in about ten seconds
ADMIN = uuid.uuid4()


def poll(check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true within {timeout}s: {check}")


@pytest.fixture(scope="module")
def namespace() -> str:
    return f"chatassist-it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def follower(container: Container, namespace: str) -> Iterator[FollowingRunner]:
    """The broker of this module, the follower enqueueing on it, and the sweep every 0.5 s (grace 1 s)."""
    # The session's database holds the deliveries other modules left unfinished (endpoints long gone, keys of other
    # key specs). This module's sweep would re-send them all to this module's worker threads, ahead of the
    # deliveries under test: park them a day ahead (still pending, never sent by this module).
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {DELIVERIES} SET next_attempt_at = now() + interval '1 day', enqueued_at = NULL,"
            " lease_until = CASE WHEN status = 'delivering' THEN now() + interval '1 day' ELSE lease_until END"
            " WHERE status IN ('pending', 'delivering')"
        )
    broker = setup_broker(container.redis_url, namespace)
    from workers import delivery_actors

    for actor in delivery_actors.ACTORS.values():
        actor.broker = broker
        broker.declare_actor(actor)
    runner = start_follower(container, delivery_actors.enqueue)
    stop = threading.Event()

    def sweeping() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(Exception):  # the test's database going away at the end
                sweep(container.database_url, delivery_actors.enqueue, grace_s=1.0)

    thread = threading.Thread(target=sweeping, daemon=True)
    thread.start()
    yield runner
    stop.set()
    thread.join()
    runner.stop()
    container.runners.remove(runner)
    broker.flush_all()


class Workers:
    """``chatassist worker --actors-only`` processes on the module's broker namespace."""

    def __init__(self, container: Container, namespace: str, slack_api_url: str) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": container.database_url,
            "REDIS_URL": container.redis_url,
            "CHATASSIST_KEYS_ENCRYPTION_KEY": KEY_SPEC,
            "CHATASSIST_INTEGRATIONS_ALLOW_PRIVATE_URLS": "true",
            "CHATASSIST_DELIVERY_SCHEDULE": SCHEDULE,
            "CHATASSIST_DELIVERY_TIMEOUT_S": "1",
            "CHATASSIST_BROKER_NAMESPACE": namespace,
            "CHATASSIST_SLACK_API_URL": slack_api_url,
            "CHATASSIST_HUBSPOT_API_URL": HUBSPOT.url,
            "CHATASSIST_HUBSPOT_CLIENT_ID": HUBSPOT.client[0],  # HubSpot connected by OAuth: refreshes on use
            "CHATASSIST_HUBSPOT_CLIENT_SECRET": HUBSPOT.client[1],
            "CHATASSIST_DB_POOL_SIZE": "1",
            "CHATASSIST_LOG_LEVEL": "WARNING",
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, threads: int = 4) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatassist.cli", "worker", "--actors-only", "--threads", str(threads)],
            env=self.env,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "worker running: ..." once the consumers are up
        assert b"worker running" in line, line
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


HUBSPOT_TOKEN = "pat-na1-0123456789abcdef0123"
HUBSPOT = FakeHubSpot(HUBSPOT_TOKEN)


@pytest.fixture(scope="module")
def hubspot() -> Iterator[FakeHubSpot]:
    HUBSPOT.start()
    yield HUBSPOT
    HUBSPOT.stop()


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def workers(
    container: Container, namespace: str, follower: FollowingRunner, slack: FakeSlack, hubspot: FakeHubSpot
) -> Iterator[Workers]:
    pool = Workers(container, namespace, slack.url + "/api/")
    yield pool
    pool.stop_all()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def ctx(container: Container, slack: FakeSlack | None = None) -> wh.Context:
    slack_api = slack.url + "/api/" if slack is not None else None
    return wh.Context(
        container.app, KeyCipher(KEY_SPEC), True, slack_api_url=slack_api, hubspot_api_url=HUBSPOT.url, timeout_s=2
    )


def new_workspace(container: Container) -> UUID:
    return create_ws.execute(
        container.app, create_ws.CreateWorkspace(f"Integrations {uuid.uuid4().hex[:6]}")
    ).workspace_id


def endpoint(container: Container, workspace_id: UUID, receiver: Receiver, types: list[str]) -> wh.Created:
    created = wh.add_endpoint(
        ctx(container), wh.AddEndpoint(workspace_id, ADMIN, receiver.url + "/hooks", types, "test endpoint")
    )
    receiver.secrets.append(created.secret)
    return created


def chat(container: Container, workspace_id: UUID, messages: int = 1) -> Conversation:
    conversation = Conversation(
        workspace_id, "web", {"user_id": "visitor-1", "email": "ada@example.com", "name": "Ada"}
    )
    for i in range(messages):
        conversation.receive(f"m{i}", f"hello {i}")
    container.app.save(conversation)
    return conversation


def rows(container: Container, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    with psycopg.connect(container.database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def deliveries(container: Container, target_id: str) -> list[dict[str, Any]]:
    return rows(container, f"SELECT * FROM {DELIVERIES} WHERE target_id = %s ORDER BY notification_id", (target_id,))


def attempts(container: Container, delivery_id: Any) -> list[dict[str, Any]]:
    return rows(
        container, "SELECT * FROM integration_v1_attempts WHERE delivery_id = %s ORDER BY attempt", (delivery_id,)
    )


def test_a_signed_webhook_reaches_the_endpoint_once_and_verifies(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given an endpoint subscribed to message.created, and a worker
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    assert created.secret.startswith("whsec_") and created.endpoint.to_dict()["secret"].endswith(created.secret[-4:])
    workers.start()
    # When a visitor writes two messages
    conversation = chat(container, ws, messages=2)
    # I expect two deliveries, each verified with the endpoint's secret by the standardwebhooks package
    poll(lambda: len(receiver.applied) == 2)
    bodies = sorted((p["data"]["text"], p["type"]) for p in receiver.payloads.values())
    assert bodies == [("hello 0", "message.created"), ("hello 1", "message.created")]
    assert all(p["data"]["conversation_id"] == str(conversation.id) for p in receiver.payloads.values())
    # and the delivery rows say delivered, one attempt each with its status code and latency
    done = poll(
        lambda: (
            [d for d in deliveries(container, created.endpoint.endpoint_id) if d["status"] == "delivered"][1:]
            and deliveries(container, created.endpoint.endpoint_id)
        )
    )
    assert len(done) == 2 and {str(d["id"]) for d in done} == set(receiver.applied)
    for d in done:
        (only,) = attempts(container, d["id"])
        assert only["status_code"] == 204 and only["outcome"] == "delivered" and only["latency_ms"] > 0
    # and the exact stored bytes were sent
    sent = {r.headers["webhook-id"]: r.body for r in receiver.requests}
    assert all(bytes(d["body"]) == sent[str(d["id"])] for d in done)


def test_a_worker_killed_mid_delivery_another_finishes_none_applied_twice(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given a slow endpoint (each answer takes 0.8 s) and one worker
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    receiver.script.delay_s = 0.8
    first = workers.start(threads=4)
    # When 12 messages are written and the worker is killed with SIGKILL while requests are in flight
    chat(container, ws, messages=12)
    poll(lambda: len(receiver.requests) >= 2)
    first.send_signal(signal.SIGKILL)
    first.wait(5)
    receiver.script.delay_s = 0.0
    # and another worker is started
    workers.start(threads=4)
    # I expect every delivery made, and none applied twice by the de-duplicating receiver
    poll(lambda: len(receiver.applied) == 12, timeout=40)
    assert set(receiver.applied.values()) == {1}
    done = poll(
        lambda: (
            [d for d in deliveries(container, created.endpoint.endpoint_id) if d["status"] == "delivered"][11:]
            and deliveries(container, created.endpoint.endpoint_id)
        ),
        timeout=10,
    )
    assert len(done) == 12
    # and the deliveries the killed worker had leased were attempted again after the lease expired
    assert any(d["attempts"] >= 2 for d in done)


def test_a_receiver_down_for_a_while_gets_everything_when_it_is_back(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given an endpoint whose server is down, and a worker
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created", "conversation.closed"])
    receiver.stop()
    # (a longer schedule than the module's: under a loaded CI machine the last of the four deliveries can start late,
    # and the first must still have retries left when the receiver is back; what is tested is that none is lost)
    workers.env["CHATASSIST_DELIVERY_SCHEDULE"] = "0.5,1,1,2,2,3,3,3,3,3,3,3"
    workers.start()
    # When a conversation happens while it is down
    conversation = chat(container, ws, messages=3)
    conversation.close("visitor")
    container.app.save(conversation)
    poll(
        lambda: all(
            d["attempts"] >= 2 for d in deliveries(container, created.endpoint.endpoint_id) or [{"attempts": 0}]
        ),
        timeout=40,
    )
    failed = deliveries(container, created.endpoint.endpoint_id)
    assert len(failed) == 4 and all(d["status"] in ("pending", "delivering") for d in failed)
    assert all(a["status_code"] is None for a in attempts(container, failed[0]["id"]))  # no answer, connection refused
    # and it comes back on the same port
    receiver.start()
    # I expect every delivery to arrive, in one piece each
    try:
        poll(lambda: len(receiver.applied) == 4, timeout=20)
    except AssertionError:
        states = [(d["status"], d["attempts"]) for d in deliveries(container, created.endpoint.endpoint_id)]
        raise AssertionError(f"{len(receiver.applied)} of 4 arrived; deliveries (status, attempts): {states}") from None
    assert sorted(p["type"] for p in receiver.payloads.values()) == ["conversation.closed"] + ["message.created"] * 3


def test_a_429_with_retry_after_makes_the_next_attempt_wait_that_long(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given an endpoint that answers 429 with Retry-After: 3 to everything for now
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    receiver.script.status, receiver.script.retry_after = 429, "3"
    workers.start()
    # When a message is written, the first attempt is refused
    chat(container, ws)
    (delivery,) = poll(lambda: [d for d in deliveries(container, created.endpoint.endpoint_id) if d["attempts"] >= 1])
    poll(lambda: attempts(container, delivery["id"]))
    receiver.script.status = 204
    # I expect the second attempt no sooner than 3 s after the first (the schedule alone says 0.5 s)
    poll(lambda: len(receiver.applied) == 1, timeout=15)
    first, second = attempts(container, delivery["id"])[:2]
    assert first["status_code"] == 429 and first["outcome"] == "retry"
    waited = (second["at"] - first["at"]).total_seconds()
    assert 3.0 <= waited < 5.0, waited


def test_rotation_signs_with_both_secrets_during_the_overlap_and_only_the_new_after(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given an endpoint and a worker
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    old_secret = created.secret
    workers.start()
    # When its secret is rotated
    rotated = wh.rotate_secret(ctx(container), ws, ADMIN, created.endpoint.endpoint_id)
    assert rotated.secret != old_secret and rotated.endpoint.previous_valid_until is not None
    receiver.secrets = [old_secret, rotated.secret]
    container.wait_for_projections()
    poll(
        lambda: rows(
            container,
            f"SELECT 1 FROM {TARGETS} WHERE target_id = %s AND previous_ciphertext IS NOT NULL",
            (created.endpoint.endpoint_id,),
        )
    )
    chat(container, ws)
    # I expect the delivery to verify with the old secret and with the new one (two signatures)
    poll(lambda: len(receiver.applied) == 1)
    (first_id,) = receiver.applied
    assert receiver.verified_with[first_id] == [0, 1]
    assert len(receiver.requests[-1].headers["webhook-signature"].split(" ")) == 2
    # When the overlap has ended (its stored deadline is now in the past)
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE {TARGETS} SET previous_valid_until = now() - interval '1 second' WHERE target_id = %s",
            (created.endpoint.endpoint_id,),
        )
    chat(container, ws)
    # I expect only the new secret to verify the next delivery
    poll(lambda: len(receiver.applied) == 2)
    (second_id,) = set(receiver.applied) - {first_id}
    assert receiver.verified_with[second_id] == [1]


def test_a_delivery_failing_every_attempt_is_dead_and_redelivery_sends_it_again(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    # Given an endpoint answering 503 to everything, and a worker
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    receiver.script.status = 503
    workers.start()
    chat(container, ws)
    # When every attempt of the schedule has failed
    (dead,) = poll(
        lambda: [d for d in deliveries(container, created.endpoint.endpoint_id) if d["status"] == "dead"], timeout=30
    )
    # I expect one attempt per step of the schedule plus the first, each recorded
    assert dead["attempts"] == len(SCHEDULE.split(",")) + 1
    assert [a["outcome"] for a in attempts(container, dead["id"])][-1] == "dead"
    # When the endpoint is fixed and an admin asks for a redelivery
    receiver.script.status = 204
    wh.redeliver(ctx(container), ws, ADMIN, str(dead["id"]))
    # I expect it delivered with the same webhook-id
    poll(lambda: receiver.applied.get(str(dead["id"])) == 1, timeout=15)


def test_an_endpoint_answering_400_fails_for_good_and_410_disables_it(
    container: Container, workers: Workers, receiver: Receiver
) -> None:
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["message.created"])
    receiver.script.status = 400
    workers.start()
    # When the endpoint answers 400
    chat(container, ws)
    (failed,) = poll(
        lambda: [d for d in deliveries(container, created.endpoint.endpoint_id) if d["status"] == "failed"]
    )
    # I expect no retry
    assert failed["attempts"] == 1 and failed["last_status_code"] == 400
    # When it answers 410 Gone
    receiver.script.status = 410
    chat(container, ws)
    # I expect the endpoint disabled by an event
    poll(lambda: not wh.existing(container.app, ws).endpoints[created.endpoint.endpoint_id].enabled)
    assert "410" in (wh.existing(container.app, ws).endpoints[created.endpoint.endpoint_id].disabled_reason or "")


def escalate(conversation: Conversation) -> None:
    decision = Decision(
        rule="angry_customer",
        priority=1,
        action="escalate",
        reason="The visitor is upset and asked for a person",
        evidence={},
        route="support",
        message="A person will take over.",
        topic="billing",
    )
    conversation.escalate("m0", decision)
    conversation.summarize_for_handoff()


def test_slack_bot_gets_the_escalation_alert_with_its_blocks(
    container: Container, workers: Workers, slack: FakeSlack
) -> None:
    # Given Slack connected with a bot token and a channel
    ws = new_workspace(container)
    slack_cmd.connect(ctx(container, slack), slack_cmd.ConnectSlack(ws, ADMIN, "bot", slack.token, "#support"))
    workers.start()
    before = len(slack.messages)
    # When a conversation is escalated
    conversation = chat(container, ws)
    escalate(conversation)
    container.app.save(conversation)
    # I expect one chat.postMessage in the channel with the alert's fields and a button to the monitor
    poll(lambda: len(slack.messages) > before)
    message = slack.messages[-1]
    assert message["channel"] == "#support" and "Escalation" in message["text"]
    text = str(message["blocks"])
    for expected in ("urgent", "The visitor is upset", "Ada", "billing", "Handoff summary"):
        assert expected in text, expected
    (button,) = message["blocks"][-1]["elements"]
    assert button["url"].endswith(f"/monitor?conversation={conversation.id}")


def test_slack_incoming_webhook_and_a_429_retried(container: Container, workers: Workers, slack: FakeSlack) -> None:
    # Given Slack connected by an incoming webhook URL that answers 429 (Retry-After 1) for now
    ws = new_workspace(container)
    slack_cmd.connect(
        ctx(container, slack), slack_cmd.ConnectSlack(ws, ADMIN, "webhook", slack.url + "/services/T0/B0/x", None)
    )
    slack.script.status, slack.script.retry_after = 429, "1"
    workers.start()
    before = len(slack.messages)
    conversation = chat(container, ws)
    escalate(conversation)
    container.app.save(conversation)
    poll(lambda: any(r.status == 429 for r in slack.requests))
    slack.script.status = 200
    # I expect the alert once Slack accepts it
    poll(lambda: len(slack.messages) > before)
    assert "Escalation" in slack.messages[-1]["text"]


ZENDESK_TOKEN = "zd-token-0123456789abcdefghij"


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    fake = FakeZendesk("ops@example.com", ZENDESK_TOKEN).start()
    yield fake
    fake.stop()


def test_zendesk_gets_a_solved_ticket_per_ai_resolution_and_one_ticket_per_escalation(
    container: Container, workers: Workers, zendesk: FakeZendesk
) -> None:
    # Given Zendesk connected (a base URL for the fake), the route "support" mapped to a group, and a worker
    ws = new_workspace(container)
    cmd = zendesk_cmd.ConnectZendesk(
        ws, ADMIN, "acme", "ops@example.com", ZENDESK_TOKEN, base_url=zendesk.url, route_groups={"support": 360001}
    )
    zendesk_cmd.connect(ctx(container), cmd)
    workers.start()
    # When a chat is resolved by the AI (the visitor said it was solved, no person involved)
    solved = chat(container, ws, messages=2)
    solved.resolve("visitor")
    container.app.save(solved)
    # I expect one solved ticket with the transcript, the tags and the conversation as external id
    (ticket,) = poll(lambda: list(zendesk.tickets.values()))
    assert ticket["status"] == "solved" and ticket["external_id"] == str(solved.id)
    assert "chatassist" in ticket["tags"] and "channel_web" in ticket["tags"]
    assert "hello 0" in ticket["comments"][0]["body"] and "hello 1" in ticket["comments"][0]["body"]
    assert ticket["requester"] == {"email": "ada@example.com", "name": "Ada"}
    # sent with the delivery id as its Idempotency-Key
    (delivery,) = poll(
        lambda: [d for d in deliveries(container, f"zendesk:{wh.integrations_id(ws)}") if d["external_ref"]]
    )
    assert zendesk.keys_seen == [str(delivery["id"])] and delivery["external_ref"] == str(ticket["id"])
    # When another chat is escalated, then closed
    escalated = chat(container, ws)
    escalate(escalated)
    container.app.save(escalated)
    opened = poll(lambda: [t for t in zendesk.tickets.values() if t["external_id"] == str(escalated.id)])
    assert opened[0]["status"] == "open" and opened[0]["priority"] == "urgent" and opened[0]["group_id"] == 360001
    # the ticket id is recorded back on the conversation, as an event
    recorded = poll(lambda: container.app.repository.get(escalated.id).external_tickets.get("zendesk"))
    assert recorded == str(opened[0]["id"])
    again = container.app.repository.get(escalated.id)
    again.close("agent_closed", by=str(ADMIN))
    container.app.save(again)
    # I expect the same ticket solved, not a second one
    poll(lambda: zendesk.puts)
    assert [t["id"] for t in zendesk.tickets.values() if t["external_id"] == str(escalated.id)] == [opened[0]["id"]]
    assert zendesk.puts[0][0] == opened[0]["id"] and zendesk.puts[0][1]["status"] == "solved"
    assert len(zendesk.tickets) == 2


def test_hubspot_gets_the_contact_and_a_note_when_a_chat_closes(
    container: Container, workers: Workers, hubspot: FakeHubSpot
) -> None:
    # Given HubSpot connected, and a worker
    ws = new_workspace(container)
    hubspot_cmd.connect(ctx(container), ws, ADMIN, HUBSPOT_TOKEN)
    workers.start()
    # When a visitor with an email chats, rates it and the chat closes
    conversation = chat(container, ws)
    conversation.rate(4, None)
    conversation.close("visitor_closed")
    container.app.save(conversation)
    # I expect the contact upserted by email and a note associated with it (summary, topic, CSAT, link)
    (note,) = poll(lambda: [n for n in hubspot.notes if str(conversation.id) in n["properties"]["hs_note_body"]])
    contact = hubspot.contacts["ada@example.com"]
    assert contact["properties"] == {"email": "ada@example.com", "firstname": "Ada"}
    assert note["associations"][0]["to"]["id"] == contact["id"]
    assert note["associations"][0]["types"][0]["associationTypeId"] == 202
    body = note["properties"]["hs_note_body"]
    assert "CSAT: 4" in body and "hello 0" in body and f"/monitor?conversation={conversation.id}" in body
    # and the note id recorded on the conversation as an event
    recorded = poll(lambda: container.app.repository.get(conversation.id).external_tickets.get("hubspot"))
    assert recorded == note["id"]


def test_hubspot_connected_by_oauth_gets_the_note_with_an_access_token_refreshed_before_it_expired(
    container: Container, workers: Workers, hubspot: FakeHubSpot
) -> None:
    # Given HubSpot connected by OAuth, with an access token that expires within the refresh margin
    from urllib.parse import parse_qs, urlsplit

    import httpx
    from psycopg_pool import ConnectionPool

    from commands.integrations import hubspot_oauth
    from commands.integrations.oauth_apps import HubSpotApp
    from commands.integrations.oauth_state import PostgresOAuthStateStore

    ws = new_workspace(container)
    callback = "https://chat.acme.test" + hubspot_oauth.CALLBACK_PATH
    app = HubSpotApp(*hubspot.client, callback, hubspot.url + "/oauth/authorize")
    hubspot.expires_in = 120
    try:
        with ConnectionPool(container.database_url, min_size=1, max_size=1, open=True) as pool:
            states = PostgresOAuthStateStore(pool, "hubspot")
            back = httpx.get(hubspot_oauth.start(app, states, ws, ADMIN)).headers["location"]
            q = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
            hubspot_oauth.complete(ctx(container), app, states, ws, ADMIN, q["state"], q["code"])
    finally:
        hubspot.expires_in = 1800
    first = set(hubspot.access_tokens)
    refreshes = hubspot.refreshes
    workers.start()
    # When a visitor with an email chats and the chat closes
    conversation = chat(container, ws)
    conversation.close("visitor_closed")
    container.app.save(conversation)
    # I expect the note made with a token the worker got by refreshing first (not the first one, nor a pasted one)
    poll(lambda: [n for n in hubspot.notes if str(conversation.id) in n["properties"]["hs_note_body"]])
    assert hubspot.refreshes == refreshes + 1
    used = {r.headers.get("Authorization", r.headers.get("authorization", "")).removeprefix("Bearer ")
            for r in hubspot.requests if r.path.startswith("/crm/v3/objects/notes")}  # fmt: skip
    refreshed = used - first - {HUBSPOT_TOKEN}
    assert refreshed and refreshed <= set(hubspot.access_tokens)
    events = [type(e).__name__ for e in container.app.repository.event_store.get(wh.integrations_id(ws))]
    assert events.count("TokenRefreshed") == 1


def test_the_follower_moves_past_events_it_does_not_follow(container: Container, follower: FollowingRunner) -> None:
    # Given the follower caught up
    container.wait_for_projections()
    # When events it does not follow are written (a workspace is created: no topic of the follower's)
    new_workspace(container)
    head = container.app.recorder.max_notification_id()
    # I expect its tracked position to reach the head anyway (the next wake-up reads only newer events)
    poll(lambda: (follower.position or 0) >= (head or 0))


def test_a_replay_of_the_whole_store_sends_nothing_again(
    container: Container, workers: Workers, receiver: Receiver, follower: FollowingRunner
) -> None:
    # Given an endpoint subscribed to csat.rated only when a first message is written (no delivery for it)
    ws = new_workspace(container)
    created = endpoint(container, ws, receiver, ["csat.rated"])
    workers.start()
    early = chat(container, ws)
    container.wait_for_projections()
    follower.wait(container.app.recorder.max_notification_id(), timeout=10)
    # then subscribed to message.created, and three messages delivered
    wh.change_endpoint(ctx(container), ws, ADMIN, created.endpoint.endpoint_id, {"event_types": ["message.created"]})
    chat(container, ws, messages=3)
    poll(
        lambda: len([d for d in deliveries(container, created.endpoint.endpoint_id) if d["status"] == "delivered"]) == 3
    )
    follower.wait(container.app.recorder.max_notification_id(), timeout=10)
    before = [(d["id"], d["status"], d["attempts"]) for d in deliveries(container, created.endpoint.endpoint_id)]
    sent_before = len(receiver.requests)
    # When the follower's position is lost and it replays the store from the start (as a rebuild would)
    follower.stop()
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {follower.view.tracking_table_name}")
    from workers import delivery_actors

    replay = start_follower(container, delivery_actors.enqueue)
    try:
        replay.wait(container.app.recorder.max_notification_id(), timeout=60)
        time.sleep(2)  # what a replay might have sent would arrive by now
        # I expect the same rows, untouched, and nothing sent again
        after = [(d["id"], d["status"], d["attempts"]) for d in deliveries(container, created.endpoint.endpoint_id)]
        assert after == before and len(before) == 3
        assert len(receiver.requests) == sent_before
        # (the first message, older than the subscription, got none: a replay applies no later setting to it)
        assert all(p["data"]["conversation_id"] != str(early.id) for p in receiver.payloads.values())
    finally:
        replay.stop()
        container.runners.remove(replay)
