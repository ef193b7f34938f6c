"""The audit log end to end: admin actions over the real server, then the exact rows with their actors; filters,
pagination, CSV and JSON Lines exports; another workspace sees none of it; no secret anywhere; a rebuild from
position 0 gives the same rows."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from chatassist.bootstrap import Container, build_providers
from chatassist.cli import ready_checks
from chatassist.settings import Settings
from commands._password_reset import LogSender
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService
from commands.provider_keys.cipher import generate_key_spec
from commands.request_password_reset import cmd as request_password_reset
from domain.provider_keys import keyring_id
from projections.audit.projection import LOG, AuditProjection, AuditView
from tests.conftest import generous_limits, stored_events
from tests.support.accounts import PASSWORD, Person, invite_and_join, person, sign_up
from tests.support.scratch import ScratchProjection
from tests.support.server import ThreadedServer
from web.app import create_app

KEYS_SPEC = generate_key_spec("audit")
API_KEY = "sk-ant-api03-" + uuid.uuid4().hex + uuid.uuid4().hex + "4b1d"
NEW_PASSWORD = "marble-Lantern-5813"
PROMPT_TEXT = "Audit-only prompt text that must stay out of the log."
TABLES = {"log": "workspace_id, position", "aggregates": "aggregate_id", "members": "workspace_id, account_id"}


@dataclass
class Story:
    """Workspace A after a run of admin actions; who did them; the secrets used on the way; workspace B's admin."""

    admin: Person
    member: Person  # invited as viewer, then made agent
    removed: Person  # invited as viewer, then removed
    other: Person
    expected: list[tuple[str, str | None]]  # (kind, actor id) oldest first
    secrets: list[str]


@pytest.fixture(scope="module")
def audit_client(container: Container, settings: Settings) -> Iterator[httpx.Client]:
    """The real app with a keys encryption key configured, reading through the analytics view."""
    providers = build_providers(replace(settings, keys_encryption_key=KEYS_SPEC), container.app)
    service = ChatService(container.app, providers, container.usage, RetryPolicy(base_delay_s=0.01), cache_ttl_s=0)
    assert container.auth is not None
    app = create_app(
        service,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
    )
    server = ThreadedServer(app).start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client
    server.stop()


def ok(response: httpx.Response) -> Any:
    assert 200 <= response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def story(audit_client: httpx.Client, container: Container) -> Story:
    """Given workspace A: sign-up; a viewer invited and made agent; another invited and removed; app and chat settings
    changed; a provider key set and removed; widget origins, identity verification and its secret; a prompt draft
    published; the admin's password reset. And workspace B signed up beside it."""
    client = audit_client
    admin, _ = sign_up(client, workspace="Audit A")
    member = invite_and_join(client, admin, "viewer")
    removed = invite_and_join(client, admin, "viewer")
    ok(client.patch(f"/api/team/members/{member.account_id}", json={"role": "agent"}, headers=admin.headers))
    ok(client.delete(f"/api/team/members/{removed.account_id}", headers=admin.headers))
    ok(client.patch("/api/settings", json={"widget_language": "de", "max_history_turns": 5}, headers=admin.headers))
    ok(client.put("/api/settings/keys/anthropic", json={"api_key": API_KEY}, headers=admin.headers))
    ok(client.delete("/api/settings/keys/anthropic", headers=admin.headers))
    security = {"allowed_origins": ["https://app.example.com"], "require_identity_verification": True}
    ok(client.patch("/api/widget/security", json=security, headers=admin.headers))
    ok(client.post("/api/widget/security/rotate-secret", headers=admin.headers))
    draft = ok(client.post("/api/admin/prompts/drafts", json={"system_prompt": PROMPT_TEXT}, headers=admin.headers))
    ok(
        client.post(
            f"/api/admin/prompts/drafts/{draft['draft_id']}/publish", json={"note": "warmer"}, headers=admin.headers
        )
    )
    assert container.auth is not None
    issued = request_password_reset.execute(
        container.app,
        request_password_reset.RequestPasswordReset(admin.email, "http://127.0.0.1"),
        container.auth.signer,
        LogSender(production=True),
    )
    assert issued is not None
    ok(client.post("/api/auth/password-reset/confirm", json={"token": issued.token, "new_password": NEW_PASSWORD}))
    # the reset signed the admin out everywhere: sign in again with the new password
    admin = person(
        admin.email, ok(client.post("/api/auth/login", json={"email": admin.email, "password": NEW_PASSWORD}))
    )
    other, _ = sign_up(client, workspace="Audit B")
    container.wait_for_projections()

    a, m, r = admin.account_id, member.account_id, removed.account_id
    expected = [
        ("workspace.created", a),
        ("workspace.plan_started", a),
        ("team.member_added", a),
        ("team.invite_issued", a),
        ("team.invite_accepted", m),
        ("team.member_added", m),
        ("team.invite_issued", a),
        ("team.invite_accepted", r),
        ("team.member_added", r),
        ("team.role_changed", a),
        ("team.member_removed", a),
        ("workspace.settings_changed", None),  # the Workspace event names no actor ...
        ("settings.changed", a),
        ("settings.chat_changed", a),  # ... its actor is recorded here, in the same transaction
        ("keys.key_set", a),
        ("keys.key_removed", a),
        ("widget.origins_changed", a),
        ("widget.identity_verification_changed", a),
        ("widget.identity_secret_rotated", a),
        ("prompts.draft_saved", a),
        ("prompts.version_published", a),
        ("account.password_changed", a),
    ]
    password_hash = container.app.repository.get(uuid.UUID(a)).password_hash
    key_events = stored_events(container, keyring_id(uuid.UUID(admin.workspace_id)))
    ciphertext = next(e.ciphertext for e in key_events if type(e).__name__ == "KeySet")
    secrets = [API_KEY, API_KEY[7:-4], PASSWORD, NEW_PASSWORD, issued.token, password_hash, ciphertext, PROMPT_TEXT]
    return Story(admin, member, removed, other, expected, secrets)


def page(client: httpx.Client, who: Person, **params: Any) -> dict[str, Any]:
    """GET /api/audit as ``who``, asserting a 200."""
    response = client.get("/api/audit", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def kinds(items: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(kind, actor) of entries, oldest first."""
    return [(i["kind"], i["actor_id"]) for i in reversed(items)]


def test_every_admin_action_is_one_row_with_its_actor_in_order(story: Story, audit_client: httpx.Client) -> None:
    # When the admin reads the whole log
    body = page(audit_client, story.admin, limit=500)
    # I expect exactly the story's actions, newest first, each with its actor
    assert kinds(body["items"]) == story.expected
    assert body["next_before"] is None
    items = {i["kind"]: i for i in body["items"]}
    assert items["team.role_changed"]["details"] == {
        "account_id": story.member.account_id,
        "previous_role": "viewer",
        "role": "agent",
    }
    assert items["team.member_removed"]["details"] == {"account_id": story.removed.account_id, "role": "viewer"}
    assert items["settings.changed"]["details"] == {"changed": ["widget_language"], "values": {"widget_language": "de"}}
    assert items["settings.chat_changed"]["details"] == {
        "changed": ["max_history_turns"],
        "values": {"max_history_turns": 5},
    }
    assert items["keys.key_set"]["details"] == {"provider": "anthropic", "last4": "4b1d"}
    assert items["widget.origins_changed"]["details"] == {"allowed_origins": ["https://app.example.com"]}
    assert items["widget.identity_verification_changed"]["details"] == {"required": True}
    assert items["prompts.version_published"]["details"]["note"] == "warmer"
    assert items["workspace.created"]["details"] == {"name": "Audit A"}
    times = [datetime.fromisoformat(i["occurred_at"]) for i in body["items"]]
    # newest first is the store's order; events saved in one transaction keep their own (close) timestamps
    assert all(timedelta(0) <= datetime.now(UTC) - t < timedelta(minutes=5) for t in times)
    assert all(i["aggregate_version"] >= 1 and uuid.UUID(i["aggregate_id"]) for i in body["items"])


def test_filters_by_actor_kind_and_time(story: Story, audit_client: httpx.Client) -> None:
    admin, member = story.admin, story.member
    # by actor: what the member did (accepting the invite made them a member)
    by_member = page(audit_client, admin, actor=member.account_id)["items"]
    assert kinds(by_member) == [("team.invite_accepted", member.account_id), ("team.member_added", member.account_id)]
    # by kind prefix and exact kind
    team = [k for k, _ in kinds(page(audit_client, admin, kind="team.")["items"])]
    assert team == [k for k, _ in story.expected if k.startswith("team.")]
    exact = page(audit_client, admin, kind="team.member_added")["items"]
    assert [k for k, _ in kinds(exact)] == ["team.member_added"] * 3
    assert page(audit_client, admin, kind="team")["items"] == []  # not a prefix without its dot
    # by time: today (UTC) holds everything, yesterday nothing; a datetime window too
    today = datetime.now(UTC).date()
    assert len(page(audit_client, admin, **{"from": str(today), "to": str(today)})["items"]) == len(story.expected)
    assert page(audit_client, admin, to=str(today - timedelta(days=1)))["items"] == []
    everything = page(audit_client, admin)["items"]
    newest = datetime.fromisoformat(everything[0]["occurred_at"])
    window = page(audit_client, admin, **{"from": newest.isoformat(), "to": newest.isoformat()})["items"]
    assert [i["id"] for i in window] == [everything[0]["id"]]
    # filters combine
    combined = page(audit_client, admin, actor=admin.account_id, kind="widget.")["items"]
    assert [k for k, _ in kinds(combined)] == [
        "widget.origins_changed",
        "widget.identity_verification_changed",
        "widget.identity_secret_rotated",
    ]


def test_keyset_pagination_walks_every_row_once(story: Story, audit_client: httpx.Client) -> None:
    seen: list[dict[str, Any]] = []
    before: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, **({"before": before} if before else {})}
        body = page(audit_client, story.admin, **params)
        seen += body["items"]
        pages += 1
        before = body["next_before"]
        if before is None:
            break
        assert len(body["items"]) == 5
    assert pages == (len(story.expected) + 4) // 5
    assert kinds(seen) == story.expected
    assert len({i["id"] for i in seen}) == len(seen)


def test_csv_and_jsonl_exports_hold_the_same_rows(story: Story, audit_client: httpx.Client) -> None:
    live = page(audit_client, story.admin, limit=500)["items"]
    jsonl = audit_client.get("/api/audit/export", params={"format": "jsonl"}, headers=story.admin.headers)
    assert jsonl.status_code == 200, jsonl.text
    assert jsonl.headers["content-disposition"].startswith("attachment;")
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    lines = jsonl.text.splitlines()
    assert [json.loads(line) for line in lines] == live

    exported = audit_client.get("/api/audit/export", params={"format": "csv"}, headers=story.admin.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert list(rows[0]) == ["id", "occurred_at", "actor_id", "kind", "aggregate_id", "aggregate_version", "details"]
    assert [(r["id"], r["kind"], r["actor_id"] or None) for r in rows] == [
        (i["id"], i["kind"], i["actor_id"]) for i in live
    ]
    assert [json.loads(r["details"]) for r in rows] == [i["details"] for i in live]
    assert [datetime.fromisoformat(r["occurred_at"]) for r in rows] == [
        datetime.fromisoformat(i["occurred_at"]) for i in live
    ]
    # the same filters apply; nothing matching is a header only (CSV) or an empty body (JSON Lines)
    keys_only = audit_client.get(
        "/api/audit/export", params={"format": "jsonl", "kind": "keys."}, headers=story.admin.headers
    )
    assert [json.loads(line)["kind"] for line in keys_only.text.splitlines()] == ["keys.key_removed", "keys.key_set"]
    empty = audit_client.get(
        "/api/audit/export", params={"format": "csv", "kind": "nothing."}, headers=story.admin.headers
    )
    assert empty.text.splitlines() == [",".join(rows[0])]


def test_another_workspace_sees_none_of_it(story: Story, audit_client: httpx.Client) -> None:
    theirs = page(audit_client, story.other, limit=500)["items"]
    assert kinds(theirs) == [
        ("workspace.created", story.other.account_id),
        ("workspace.plan_started", story.other.account_id),
        ("team.member_added", story.other.account_id),
    ]
    assert page(audit_client, story.other, actor=story.admin.account_id)["items"] == []
    # a workspace id in the query string is ignored: the session decides
    assert page(audit_client, story.other, workspace_id=story.admin.workspace_id)["items"] == theirs
    export = audit_client.get("/api/audit/export", params={"format": "jsonl"}, headers=story.other.headers)
    assert story.admin.workspace_id not in export.text and story.admin.account_id not in export.text


def test_only_admins_read_the_log(story: Story, audit_client: httpx.Client) -> None:
    for path in ("/api/audit", "/api/audit/export"):
        refused = audit_client.get(path, headers=story.member.headers)  # an agent
        assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
        assert audit_client.get(path).status_code == 401


def test_no_secret_appears_in_any_row_or_export(story: Story, audit_client: httpx.Client, container: Container) -> None:
    with psycopg.connect(container.database_url) as conn:
        dump = "\n".join(r[0] for r in conn.execute(f"SELECT t::text FROM {LOG} t".encode()))
    exports = [
        audit_client.get("/api/audit/export", params={"format": f}, headers=story.admin.headers).text
        for f in ("csv", "jsonl")
    ]
    api = audit_client.get("/api/audit", params={"limit": 500}, headers=story.admin.headers).text
    for text in (dump, *exports, api):
        for secret in story.secrets:
            assert secret not in text
        assert story.member.email not in text and story.removed.email not in text  # nor the invitees' emails


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"from": "2026-13-01"}, "invalid_date_range"),
        ({"from": "yesterday"}, "invalid_date_range"),
        ({"from": "2026-02-02", "to": "2026-02-01"}, "invalid_date_range"),
        ({"limit": 501}, "limit_too_large"),
        ({"limit": 0}, "invalid_limit"),
        ({"before": "abc"}, "invalid_cursor"),
        ({"before": "-4"}, "invalid_cursor"),
        ({"actor": "not-a-uuid"}, "invalid_actor"),
        ({"kind": "team.%"}, "invalid_kind"),
    ],
)
def test_bad_input_is_a_422_with_a_stable_code(
    story: Story, audit_client: httpx.Client, params: dict[str, Any], code: str
) -> None:
    response = audit_client.get("/api/audit", params=params, headers=story.admin.headers)
    body = response.json()
    assert (response.status_code, body["code"]) == (422, code), response.text
    assert body["message"].endswith(".")


def test_an_unknown_export_format_is_a_422(story: Story, audit_client: httpx.Client) -> None:
    for params, code in (
        ({"format": "xml"}, "unknown_format"),
        ({"format": "csv", "to": "nope"}, "invalid_date_range"),
    ):
        response = audit_client.get("/api/audit/export", params=params, headers=story.admin.headers)
        assert (response.status_code, response.json()["code"]) == (422, code), response.text


def _scratch(container: Container) -> ScratchProjection:
    return ScratchProjection(container, "audit_v1", TABLES, AuditView, AuditProjection)


def test_a_rebuild_from_zero_gives_the_same_rows(story: Story, container: Container) -> None:
    # Given the live projection caught up at position P
    container.wait_for_projections()
    live = next(r for r in container.runners if r.projection.name == AuditProjection.name)
    position = live.view.max_tracking_id(container.app.name)
    assert position is not None
    scratch = _scratch(container)
    try:
        # When a fresh projection applies every subscribed event from 0 to P into empty tables
        applied = scratch.replay(container, position)
        # I expect the same rows as the incremental run, in every table
        assert live.view.max_tracking_id(container.app.name) == position, "the store moved during the test"
        rebuilt = scratch.dump(scratch.prefix)
        assert rebuilt == scratch.dump("audit_v1") and rebuilt["log"]
        # and an event applied again at its position is refused by the tracking row, changing nothing
        event, tracking = applied[-1]
        with pytest.raises(IntegrityError):
            scratch.projection.process_event(event, tracking)
        assert scratch.dump(scratch.prefix) == rebuilt
    finally:
        scratch.drop()


def test_an_unhandled_subscribed_event_stops_the_projection(container: Container) -> None:
    projection = AuditProjection(view=container.view(AuditView, f"audit_probe_{uuid.uuid4().hex[:8]}"))
    try:
        with pytest.raises(TypeError, match="audit_v1: no handler for object at position 7"):
            projection.process_event(object(), Tracking(application_name="x", notification_id=7))
    finally:
        projection.view.datastore.close()
        with psycopg.connect(container.database_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {projection.view.tracking_table_name}".encode())


def test_every_subscribed_topic_has_a_handler() -> None:
    from eventsourcing.utils import resolve_topic

    handled = AuditProjection.__dict__["process_event"].dispatcher.registry
    assert all(resolve_topic(topic) in handled for topic in AuditProjection.topics)
