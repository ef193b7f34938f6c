"""/api/integrations over the real server: admins only, secrets shown once, stable error codes, the delivery log."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from chatassist.integrations import start_follower
from commands.integrations.checks import SLACK_CONNECTED_TEXT
from commands.integrations.webhooks import Context
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from domain.conversation import Conversation, ModelCall
from tests.conftest import generous_limits
from tests.fakes.receivers import FakeHubSpot, FakeIntercom, FakeSlack, FakeZendesk, vendor_urls
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.server import ThreadedServer
from web.app import create_app
from workers.intercom_check import check_intercom_tokens
from workers.retention import purge_delivery_logs
from workers.sweep import disable_failing_endpoints

KEYS_SPEC = generate_key_spec("i1")
INTERCOM_TOKEN = "dG9rOjEyMzQ1Njc4OTBhYmNkZWY="
INTERCOM = FakeIntercom(INTERCOM_TOKEN)
SLACK_TOKEN = "xoxb-123-456-secretsecret9z8y"
SLACK = FakeSlack(SLACK_TOKEN)
ZENDESK_TOKEN = "zd-token-0123456789abcdefghij"
ZENDESK = FakeZendesk("ops@example.com", ZENDESK_TOKEN)
HUBSPOT_TOKEN = "pat-na1-0123456789abcdef0123"
HUBSPOT = FakeHubSpot(HUBSPOT_TOKEN)
FAKES = (INTERCOM, SLACK, ZENDESK, HUBSPOT)
HOOK = "http://127.0.0.1:9/hooks"  # a private address: accepted by the development setting only


def serve(container: Container, allow_private: bool) -> ThreadedServer:
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        integrations=Context(
            container.app, KeyCipher(KEYS_SPEC), allow_private, **vendor_urls(SLACK, HUBSPOT, INTERCOM)
        ),
    )
    return ThreadedServer(app).start()


@pytest.fixture(scope="module")
def client(container: Container) -> Iterator[httpx.Client]:
    """The app with private endpoint URLs allowed (the development setting), and the outbox follower (no worker)."""
    for fake in FAKES:
        fake.start()
    runner = start_follower(container, None)
    server = serve(container, allow_private=True)
    with httpx.Client(base_url=server.base_url, timeout=20) as c:
        yield c
    server.stop()
    runner.stop()
    container.runners.remove(runner)
    for fake in FAKES:
        fake.stop()


@pytest.fixture(scope="module")
def strict_client(container: Container) -> Iterator[httpx.Client]:
    """The app as deployed: https to public addresses only."""
    server = serve(container, allow_private=False)
    with httpx.Client(base_url=server.base_url, timeout=20) as c:
        yield c
    server.stop()


def add(client: httpx.Client, admin: Person, **body: Any) -> httpx.Response:
    return client.post(
        "/api/integrations/webhooks",
        json={"url": HOOK, "event_types": ["message.created"], **body},
        headers=admin.headers,
    )


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client: httpx.Client, container: Container) -> None:
    # Given an admin
    admin, _ = sign_up(client)
    # When they add an endpoint
    created = add(client, admin, event_types=["escalation.triggered", "message.created"], description="CRM")
    # I expect the endpoint and a whsec_ secret in the answer
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert body["endpoint"]["event_types"] == ["message.created", "escalation.triggered"]  # documented order
    # and afterwards only its last four characters
    listed = client.get("/api/integrations", headers=admin.headers)
    assert listed.status_code == 200
    (endpoint,) = listed.json()["webhooks"]
    assert endpoint["secret"] == "whsec_…" + secret[-4:]
    assert secret not in listed.text and secret[6:-4] not in listed.text
    # and the secret is not in the event store in clear
    table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
    with psycopg.connect(container.database_url) as conn:
        states = [bytes(r[0]) for r in conn.execute(f"SELECT state FROM {table}").fetchall()]
    assert states  # the store was read
    assert not any(secret.encode() in s or secret[6:].encode() in s for s in states)


def test_other_roles_are_refused_and_nothing_is_stored(client: httpx.Client) -> None:
    admin, _ = sign_up(client)
    for role in ("agent", "viewer"):
        member = invite_and_join(client, admin, role)
        # When a non-admin tries to add an endpoint or read the log
        refused = add(client, member)
        log = client.get("/api/integrations/deliveries", headers=member.headers)
        # I expect 403 permission_denied
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
        assert log.status_code == 403
    assert client.get("/api/integrations", headers=admin.headers).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"event_types": ["message.deleted"]}, "unknown_event_type"),
        ({"event_types": []}, "invalid_event_types"),
        ({"url": "ftp://example.com/x"}, "invalid_url"),
        ({"url": "https://user:pw@example.com/x"}, "invalid_url"),
    ],
)
def test_bad_endpoints_get_a_stable_code_and_nothing_is_stored(
    client: httpx.Client, body: dict[str, Any], code: str
) -> None:
    admin, _ = sign_up(client)
    answer = add(client, admin, **body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code and answer.json()["message"]
    assert client.get("/api/integrations", headers=admin.headers).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hooks", "url_not_https"),
        ("https://127.0.0.1/hooks", "url_private_address"),
        ("https://10.1.2.3/hooks", "url_private_address"),
        ("https://169.254.169.254/latest", "url_private_address"),
        ("https://[::1]/hooks", "url_private_address"),
        ("https://localhost/hooks", "url_private_address"),
    ],
)
def test_private_and_plain_http_urls_are_refused_as_deployed(strict_client: httpx.Client, url: str, code: str) -> None:
    admin, _ = sign_up(strict_client)
    answer = add(strict_client, admin, url=url)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert strict_client.get("/api/integrations", headers=admin.headers).json()["webhooks"] == []


def test_change_rotate_test_and_remove(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    created = add(client, admin).json()
    endpoint_id = created["endpoint"]["id"]
    # When the admin changes the subscribed types and disables it
    changed = client.patch(
        f"/api/integrations/webhooks/{endpoint_id}",
        json={"event_types": ["csat.rated"], "enabled": False},
        headers=admin.headers,
    )
    assert changed.status_code == 200 and changed.json()["event_types"] == ["csat.rated"]
    assert changed.json()["enabled"] is False
    bad = client.patch(f"/api/integrations/webhooks/{endpoint_id}", json={"colour": "red"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_field"
    # When the secret is rotated
    rotated = client.post(f"/api/integrations/webhooks/{endpoint_id}/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"] and rotated.json()["endpoint"]["previous_secret_valid_until"]
    # When a test event is sent (re-enabled first)
    client.patch(f"/api/integrations/webhooks/{endpoint_id}", json={"enabled": True}, headers=admin.headers)
    sent = client.post(f"/api/integrations/webhooks/{endpoint_id}/test", headers=admin.headers)
    assert sent.status_code == 202
    delivery_id = sent.json()["delivery_id"]
    # I expect its delivery in the log (pending: no worker runs in this module), with its payload
    container.wait_for_projections()
    one = client.get(f"/api/integrations/deliveries/{delivery_id}", headers=admin.headers)
    assert one.status_code == 200, one.text
    assert one.json()["event_type"] == "webhook.test" and one.json()["status"] == "pending"
    assert '"type":"webhook.test"' in one.json()["payload"]
    pending = client.get("/api/integrations/deliveries?status=pending", headers=admin.headers).json()
    assert [d["id"] for d in pending["deliveries"]] == [delivery_id]
    assert client.get("/api/integrations/deliveries?status=dead", headers=admin.headers).json()["deliveries"] == []
    # and a redelivery of it refused: it is not dead
    again = client.post(f"/api/integrations/deliveries/{delivery_id}/redeliver", headers=admin.headers)
    assert again.status_code == 409 and again.json()["code"] == "delivery_not_dead"
    # When the endpoint is removed
    assert client.delete(f"/api/integrations/webhooks/{endpoint_id}", headers=admin.headers).status_code == 204
    gone = client.post(f"/api/integrations/webhooks/{endpoint_id}/test", headers=admin.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "endpoint_not_found"
    # and every change in the audit log with its actor, the secrets by their last four only
    container.wait_for_projections()
    audit = client.get("/api/audit?kind=integrations.", headers=admin.headers)
    assert audit.status_code == 200, audit.text
    items = list(reversed(audit.json()["items"]))
    assert [i["kind"] for i in items] == [
        "integrations.webhook_added",
        "integrations.webhook_changed",
        "integrations.webhook_secret_rotated",
        "integrations.webhook_changed",
        "integrations.webhook_tested",
        "integrations.webhook_removed",
    ]
    assert {i["actor_id"] for i in items} == {admin.account_id}
    assert items[2]["details"]["secret_last4"] == rotated.json()["secret"][-4:]
    assert created["secret"] not in audit.text and rotated.json()["secret"] not in audit.text


def test_the_delivery_log_refuses_unknown_filters_and_ids(client: httpx.Client) -> None:
    admin, _ = sign_up(client)
    bad = client.get("/api/integrations/deliveries?status=lost", headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_delivery_status"
    missing = client.get("/api/integrations/deliveries/not-a-uuid", headers=admin.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"


def test_slack_connects_masked_and_refuses_a_bad_token(client: httpx.Client) -> None:
    admin, _ = sign_up(client)
    bad = client.put("/api/integrations/slack", json={"mode": "bot", "bot_token": "nope"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_slack_token"
    no_channel = client.put(
        "/api/integrations/slack", json={"mode": "bot", "bot_token": "xoxb-1-2-abcd"}, headers=admin.headers
    )
    assert no_channel.status_code == 422 and no_channel.json()["code"] == "invalid_channel"
    # a token Slack's auth.test refuses: 409 credential_rejected, nothing stored
    refused = client.put(
        "/api/integrations/slack",
        json={"mode": "bot", "bot_token": "xoxb-123-456-revokedrevoked", "channel": "#support"},
        headers=admin.headers,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "credential_rejected", refused.text
    assert "invalid_auth" in refused.json()["message"]
    assert client.get("/api/integrations", headers=admin.headers).json()["slack"]["connected"] is False
    token = SLACK_TOKEN
    ok = client.put(
        "/api/integrations/slack",
        json={"mode": "bot", "bot_token": token, "channel": "#support"},
        headers=admin.headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {**ok.json(), "connected": True, "credential": "…9z8y", "channel": "#support"}
    shown = client.get("/api/integrations", headers=admin.headers)
    assert token not in shown.text and shown.json()["slack"]["connected"] is True
    assert client.delete("/api/integrations/slack", headers=admin.headers).status_code == 204
    assert client.get("/api/integrations", headers=admin.headers).json()["slack"]["connected"] is False
    again = client.delete("/api/integrations/slack", headers=admin.headers)
    assert again.status_code == 404 and again.json()["code"] == "integration_not_connected"


def test_slack_zendesk_and_hubspot_are_tested_on_connect_and_on_demand(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client)
    # Given Slack connected by an incoming webhook URL: the connect posts a short test message in the channel
    hook = SLACK.url + f"/services/T0ACME/B0{uuid.uuid4().hex[:6]}/x"
    posted = len(SLACK.messages)
    slack = client.put("/api/integrations/slack", json={"mode": "webhook", "webhook_url": hook}, headers=admin.headers)
    assert slack.status_code == 200, slack.text
    assert slack.json()["ok"] is True and slack.json()["status"].startswith("Connected: the incoming webhook posted")
    assert [m["text"] for m in SLACK.messages[posted:]] == [SLACK_CONNECTED_TEXT]
    # When the webhook is removed in Slack and an admin presses Test
    SLACK.revoked.add(hook.removeprefix(SLACK.url))
    tested = client.post("/api/integrations/slack/test", headers=admin.headers)
    # I expect the card disconnected, with when and why
    assert tested.status_code == 200 and tested.json()["ok"] is False, tested.text
    card = client.get("/api/integrations", headers=admin.headers).json()["slack"]
    assert card["ok"] is False and card["status"].startswith("Disconnected: Slack rejected the credential on 20")
    assert "404 no_service" in card["status"] and card["status"].endswith("reconnect.")

    # Given Zendesk, which answers 200 with an anonymous user for credentials it does not know
    zendesk = {"subdomain": "acme", "email": "ops@example.com", "base_url": ZENDESK.url}
    wrong = client.put(
        "/api/integrations/zendesk", json={**zendesk, "api_token": "zd-wrong-0123456789abcdefgh"}, headers=admin.headers
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "credential_rejected", wrong.text
    assert "anonymous user" in wrong.json()["message"]
    assert client.get("/api/integrations", headers=admin.headers).json()["zendesk"]["connected"] is False
    right = client.put("/api/integrations/zendesk", json={**zendesk, "api_token": ZENDESK_TOKEN}, headers=admin.headers)
    assert right.status_code == 200 and right.json()["ok"] is True, right.text
    assert right.json()["detail"] == "agent ops@example.com (agent)"
    # When the token is rotated in Zendesk, Test says so
    saved_auth = ZENDESK.auth
    ZENDESK.auth = "Basic bm9ib2R5"
    try:
        tested = client.post("/api/integrations/zendesk/test", headers=admin.headers).json()
    finally:
        ZENDESK.auth = saved_auth
    assert tested["ok"] is False and tested["status"].startswith("Disconnected: Zendesk rejected the credential on")
    # and Test again once it works records it connected again
    assert client.post("/api/integrations/zendesk/test", headers=admin.headers).json()["ok"] is True

    # Given HubSpot: a token it refuses is not stored
    bad = client.put("/api/integrations/hubspot", json={"access_token": "pat-na1-" + "f" * 24}, headers=admin.headers)
    assert bad.status_code == 409 and bad.json()["code"] == "credential_rejected", bad.text
    assert "Authentication credentials not found" in bad.json()["message"]
    good = client.put("/api/integrations/hubspot", json={"access_token": HUBSPOT_TOKEN}, headers=admin.headers)
    assert good.status_code == 200 and good.json()["ok"] is True, good.text
    assert any(r.path.startswith("/crm/v3/objects/contacts?limit=1") for r in HUBSPOT.requests)
    # When HubSpot cannot be reached, Test records nothing and says so; connecting then is refused with 422
    HUBSPOT.stop()
    try:
        down = client.post("/api/integrations/hubspot/test", headers=admin.headers)
        assert down.status_code == 200 and down.json()["ok"] is True, down.text
        assert "HubSpot could not be reached" in down.json()["notice"]
        again = client.put("/api/integrations/hubspot", json={"access_token": HUBSPOT_TOKEN}, headers=admin.headers)
        assert again.status_code == 422 and again.json()["code"] == "integration_unreachable", again.text
    finally:
        HUBSPOT.start()
    # I expect each test in the audit log with the admin as actor (connects, tests; not the unreachable one)
    container.wait_for_projections()
    audit = client.get("/api/audit?kind=integrations.credential_checked", headers=admin.headers).json()["items"]
    outcomes = sorted((i["details"]["system"], i["details"]["ok"]) for i in audit)
    assert outcomes == [("hubspot", True), ("slack", False), ("slack", True), ("zendesk", False), ("zendesk", True),
                        ("zendesk", True)]  # fmt: skip
    assert {i["actor_id"] for i in audit} == {admin.account_id}
    # and an Admin only: an agent is refused
    agent = invite_and_join(client, admin, "agent")
    refused = client.post("/api/integrations/slack/test", headers=agent.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_intercom_connects_only_with_a_token_it_accepts_and_says_when_it_stopped_working(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client)
    # When an admin connects a token Intercom refuses
    refused = client.put("/api/integrations/intercom", json={"access_token": "x" * 30}, headers=admin.headers)
    # I expect 409 credential_rejected, and nothing stored
    assert refused.status_code == 409 and refused.json()["code"] == "credential_rejected", refused.text
    assert client.get("/api/integrations", headers=admin.headers).json()["intercom"]["connected"] is False
    # When they connect one it accepts
    ok = client.put("/api/integrations/intercom", json={"access_token": INTERCOM_TOKEN}, headers=admin.headers)
    assert ok.status_code == 200, ok.text
    assert (
        ok.json()["ok"] is True
        and ok.json()["status"] == "Connected."
        and ok.json()["access_token"] == "…" + INTERCOM_TOKEN[-4:]
    )
    # When the token is revoked in Intercom and the scheduler's daily check runs
    INTERCOM.tokens.clear()
    container.wait_for_projections()
    workspace = admin.workspace_id
    deadline = time.monotonic() + 10
    outcomes: dict[str, bool | None] = {}
    while workspace not in outcomes and time.monotonic() < deadline:  # the follower lists the workspace
        outcomes = check_intercom_tokens(container.app, KeyCipher(KEYS_SPEC), INTERCOM.url, container.database_url)
        time.sleep(0.1)
    assert outcomes[workspace] is False
    # I expect the card to say it is disconnected, since when and why
    card = client.get("/api/integrations", headers=admin.headers).json()["intercom"]
    assert card["connected"] is True and card["ok"] is False
    assert (
        card["status"].startswith("Disconnected: the access token was rejected on 20")
        and "re-authenticate" in card["status"]
    )
    # When the token works again and an admin asks for a check
    INTERCOM.tokens.add(INTERCOM_TOKEN)
    again = client.post("/api/integrations/intercom/check", headers=admin.headers)
    assert again.status_code == 200 and again.json()["ok"] is True
    assert client.delete("/api/integrations/intercom", headers=admin.headers).status_code == 204


def test_an_endpoint_failing_every_delivery_for_five_days_is_disabled_with_an_event(
    client: httpx.Client, container: Container
) -> None:
    from commands.integrations.webhooks import disable_endpoint

    admin, _ = sign_up(client)
    failing = add(client, admin).json()["endpoint"]["id"]
    healthy = add(client, admin).json()["endpoint"]["id"]
    # Given deliveries to both (test events), whose attempts we date: the first endpoint has failed since six days
    # ago and still fails today; the second failed six days ago too but delivered one yesterday
    ids = {}
    for endpoint_id in (failing, healthy, failing):
        sent = client.post(f"/api/integrations/webhooks/{endpoint_id}/test", headers=admin.headers).json()
        ids.setdefault(endpoint_id, []).append(sent["delivery_id"])
    container.wait_for_projections()
    with psycopg.connect(container.database_url, autocommit=True) as conn:

        def dated(delivery_id: str, status: str, attempt_days_ago: float, delivered_days_ago: float | None) -> None:
            for _ in range(100):  # the follower writes the row
                if conn.execute(
                    "UPDATE integration_v1_deliveries SET status = %s, attempts = 3,"
                    " last_attempt_at = now() - make_interval(secs => %s * 86400),"
                    " delivered_at = now() - make_interval(secs => %s * 86400) WHERE id = %s",
                    (status, attempt_days_ago, delivered_days_ago, delivery_id),
                ).rowcount:
                    return
                time.sleep(0.05)
            raise AssertionError("the delivery row was not written")

        dated(ids[failing][0], "dead", 6, None)
        dated(ids[failing][1], "pending", 0.01, None)
        dated(ids[healthy][0], "dead", 6, None)
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO integration_v1_deliveries (id, workspace_id, target_id, kind, event_type, notification_id,"
            " event_at, body, status, attempts, last_attempt_at, delivered_at) SELECT gen_random_uuid(), workspace_id,"
            " target_id, kind, event_type, notification_id, event_at, body, 'delivered', 1, now() - interval '1 day',"
            " now() - interval '1 day' FROM integration_v1_deliveries WHERE id = %s",
            (ids[healthy][0],),
        )
    # When the scheduler's job runs
    disabled = disable_failing_endpoints(
        container.database_url, lambda ws, ep, why: disable_endpoint(container.app, ws, ep, why)
    )
    # I expect only the failing endpoint disabled, with its reason, by an event in the audit log
    assert failing in disabled and healthy not in disabled
    endpoints = {e["id"]: e for e in client.get("/api/integrations", headers=admin.headers).json()["webhooks"]}
    assert endpoints[failing]["enabled"] is False and "5 days" in endpoints[failing]["disabled_reason"]
    assert endpoints[healthy]["enabled"] is True
    container.wait_for_projections()
    audit = client.get("/api/audit?kind=integrations.webhook_disabled", headers=admin.headers).json()["items"]
    assert [(i["details"]["endpoint_id"], i["actor_id"]) for i in audit] == [(failing, None)]


def test_the_retention_purge_deletes_finished_deliveries_past_the_window(
    client: httpx.Client, container: Container
) -> None:
    # Given a workspace keeping 30 days, and three test deliveries: one delivered 40 days ago, one delivered
    # yesterday, one still pending since 40 days ago
    admin, _ = sign_up(client)
    assert (
        client.patch("/api/settings", json={"analytics_retention_days": 30}, headers=admin.headers).status_code == 200
    )
    endpoint_id = add(client, admin).json()["endpoint"]["id"]
    sent = [
        client.post(f"/api/integrations/webhooks/{endpoint_id}/test", headers=admin.headers).json()["delivery_id"]
        for _ in range(3)
    ]
    container.wait_for_projections()
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        for delivery_id, status, days in zip(sent, ("delivered", "delivered", "pending"), (40, 1, 40), strict=True):
            for _ in range(100):
                if conn.execute(
                    "UPDATE integration_v1_deliveries SET status = %s, created_at = now() - make_interval(days => %s)"
                    " WHERE id = %s",
                    (status, days, delivery_id),
                ).rowcount:
                    break
                time.sleep(0.05)
            conn.execute(
                "INSERT INTO integration_v1_attempts (delivery_id, attempt, at, status_code, latency_ms, outcome)"
                " VALUES (%s, 1, now(), 204, 1, 'delivered')",
                (delivery_id,),
            )
    # When the scheduler's purge runs
    purged = purge_delivery_logs(container.app, container.database_url)
    # I expect only the old finished delivery gone, with its attempts
    assert purged[admin.workspace_id] == 1
    log = client.get("/api/integrations/deliveries", headers=admin.headers).json()["deliveries"]
    assert sorted(d["id"] for d in log) == sorted(sent[1:])
    with psycopg.connect(container.database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM integration_v1_attempts WHERE delivery_id = ANY(%s::uuid[])", (sent,)
        ).fetchone()
    assert left == (2,)


def test_budget_thresholds_are_announced_once_a_month_each(client: httpx.Client, container: Container) -> None:
    from workers.budget_check import check_budget_thresholds

    # Given a workspace with a 1,000-token monthly budget, an endpoint subscribed to budget.threshold, and 850
    # tokens used this month
    admin, _ = sign_up(client)
    assert client.patch("/api/settings", json={"monthly_token_budget": 1000}, headers=admin.headers).status_code == 200
    add(client, admin, event_types=["budget.threshold"])

    def use(tokens: int) -> None:
        """A visitor message answered by one model call of ``tokens`` input tokens (events; the usage projection
        sums them)."""
        conversation = Conversation(uuid.UUID(admin.workspace_id), "web", {"user_id": "v"})
        conversation.receive("m0", "hello")
        call = ModelCall("c1", "anthropic", "claude-sonnet-4-6", 1, 1, tokens, 0, 0, 0, 100.0, 200.0, None, "ok")
        conversation.record_model_call("m0", call)
        container.app.save(conversation)
        container.wait_for_projections()

    def announced(count: int) -> list[int]:
        """The thresholds delivered so far, once the outbox follower has written ``count`` rows (10 s at most)."""
        deadline = time.monotonic() + 10
        log = []
        while time.monotonic() < deadline:
            log = client.get("/api/integrations/deliveries", headers=admin.headers).json()["deliveries"]
            if len(log) >= count:
                break
            time.sleep(0.05)
        out = []
        for d in log:
            one = client.get(f"/api/integrations/deliveries/{d['id']}", headers=admin.headers).json()
            assert one["event_type"] == "budget.threshold"
            out.append(json.loads(one["payload"])["data"]["percent"])
        return sorted(out)

    use(850)
    # When the scheduler's job runs (twice)
    first = check_budget_thresholds(container.app, container.database_url)
    again = check_budget_thresholds(container.app, container.database_url)
    # I expect 80 % announced once, as a budget.threshold delivery
    assert first[admin.workspace_id] == [80] and admin.workspace_id not in again
    assert announced(1) == [80]
    # When the whole budget is used
    use(150)  # 1,000 in all
    later = check_budget_thresholds(container.app, container.database_url)
    # I expect 95 % and 100 %, each once
    assert later[admin.workspace_id] == [95, 100]
    assert announced(3) == [80, 95, 100]
    assert announced(4) == [80, 95, 100]  # and no more
