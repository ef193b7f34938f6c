"""Erasure without rewriting history (issue 17 item 5, crypto-shredding) over the real server: a visitor's
conversations are stored with their personal fields encrypted; an admin's erasure destroys their keys, and then the
person's words are gone from every API, export and read model, a full rebuild does not bring them back, the hash
chain still verifies, and counts, tokens and costs are unchanged. The keys never appear in events, logs or answers."""

from __future__ import annotations

import base64
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from chatassist.bootstrap import Container
from chatassist.rebuild import rebuild_all
from commands._chain import verify
from commands.erase_personal_data.cmd import keys_of
from domain.clock import events_at
from domain.conversation import Conversation
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.sse import parse_sse
from tests.support.visitors import TOKENS, remember_events
from workers.retention import erase_expired_personal_data

ERASURES = "/api/audit/erasures"
ALICE = {"id": "alice-7f3e", "email": "Alice.Liddell@example.org", "name": "Alice Liddell"}
BOB = {"id": "bob-19c2", "email": "bob@example.org", "name": "Bob Builder"}
ALICE_TEXTS = ("My card ending 4417 was charged twice, marmalade", "I want to talk to a human about the jabberwock")
ALICE_LATER = "Second chat: my flat is at 12 Looking Glass Lane"
BOB_TEXT = "Bob asks how to export invoices as CSV"
AGENT_TEXT = "Hi Alice, Dinah from support: refund of the tumtum charge is on its way."
NOTE_TEXT = "Verified Alice by phone, vorpal note"
SECRETS = (*ALICE_TEXTS, ALICE_LATER, AGENT_TEXT, NOTE_TEXT, "marmalade", "jabberwock", "Looking Glass", "tumtum")
SECRETS += ("vorpal", ALICE["id"], ALICE["email"], ALICE["email"].lower(), ALICE["name"], "Dinah")


def say(client: httpx.Client, key: str, text: str, user: dict[str, str], cid: str | None = None) -> str:
    """One visitor message through the widget's API (identified visitor: id, email, name); the conversation id."""
    headers = {"X-Widget-Key": key, "Accept": "text/event-stream"}
    if cid is not None:
        headers["X-Visitor-Token"] = TOKENS[cid]
    body = {"message": text, "conversation_id": cid, "user": user}
    with client.stream("POST", "/api/chat", json=body, headers=headers) as response:
        assert response.status_code == 200, response.read()
        events = parse_sse(response.iter_lines())
    remember_events(events)
    return str(events[0][1]["conversation_id"])


@dataclass
class World:
    admin: Person
    agent: Person
    auditor: Person
    key: str
    alice: list[str]  # her two conversations
    bob: str
    data_keys: list[bytes]  # the keys of Alice's and Bob's conversations, read before the erasure


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text


@pytest.fixture
def world(client: httpx.Client, container: Container, fake_llm: FakeLLMServer) -> World:
    """Given Alice's escalated conversation (an AI answer, an agent's claim, reply and note) and a second one, and
    Bob's conversation, in one workspace with an agent and an auditor."""
    admin, body = sign_up(client, workspace="Erasure Co")
    agent = invite_and_join(client, admin, "agent")
    auditor = invite_and_join(client, admin, "auditor")
    key = body["widget_key"]
    fake_llm.enqueue("anthropic", Script(text="Sorry about the double charge, marmalade noted."))
    first = say(client, key, ALICE_TEXTS[0], ALICE)
    say(client, key, ALICE_TEXTS[1], ALICE, first)
    agent_path = f"/api/agent/conversations/{first}"
    ok(client.post(f"{agent_path}/claim", headers=agent.headers))
    ok(client.post(f"{agent_path}/reply", json={"text": AGENT_TEXT}, headers=agent.headers), 201)
    ok(client.post(f"{agent_path}/notes", json={"text": NOTE_TEXT}, headers=agent.headers), 201)
    fake_llm.enqueue("anthropic", Script(text="Noted the address."))
    second = say(client, key, ALICE_LATER, ALICE)
    fake_llm.enqueue("anthropic", Script(text="Use Billing, then Export."))
    bob = say(client, key, BOB_TEXT, BOB)
    container.wait_for_projections()
    keys = keys_of(container.app)
    data_keys = [k.key for k in (keys.get(uuid.UUID(c)) for c in (first, second, bob)) if k is not None and k.key]
    assert len(data_keys) == 3
    return World(admin, agent, auditor, key, [first, second], bob, data_keys)


def stored_states(container: Container, cid: str) -> list[bytes]:
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute(
            "SELECT state FROM chatassist_events WHERE originator_id = %s ORDER BY originator_version", (cid,)
        ).fetchall()
    return [bytes(r[0]) for r in rows]


def readable(client: httpx.Client, container: Container, w: World, cid: str) -> str:
    """Every answer that shows a conversation, as one text: the transcript, the agent's view, the monitor's four
    lists, the replay (events and state), both exports and the audit log."""
    container.wait_for_projections()
    audit = f"/api/audit/conversations/{cid}"
    parts = {
        "transcript": ok(client.get(f"/api/conversations/{cid}", headers=w.admin.headers)),
        "agent": ok(client.get(f"/api/agent/conversations/{cid}", headers=w.agent.headers)),
        "replay": ok(client.get(f"{audit}/events", params={"limit": 500}, headers=w.auditor.headers)),
        "state": ok(client.get(f"{audit}/state", headers=w.auditor.headers)),
        "jsonl": ok(client.get(f"{audit}/export", params={"format": "jsonl"}, headers=w.auditor.headers)),
        "md": ok(client.get(f"{audit}/export", params={"format": "md"}, headers=w.admin.headers)),
        "audit log": ok(client.get("/api/audit/export", params={"format": "jsonl"}, headers=w.admin.headers)),
    }
    for view in ("active", "queue", "escalations", "closed"):
        parts[view] = ok(client.get("/api/monitor", params={"view": view}, headers=w.agent.headers))
    return "\n".join(f"== {name}: {p if isinstance(p, str) else repr(p)}" for name, p in parts.items())


def leaks(text: str) -> list[tuple[str, str]]:
    """Each secret found, with the part of ``readable`` it is in."""
    return [(s, part.split(":", 1)[0]) for part in text.split("\n== ") for s in SECRETS if s in part]


def model_call_figures(client: httpx.Client, w: World, cid: str) -> list[tuple[Any, ...]]:
    items = ok(client.get(f"/api/audit/conversations/{cid}/events", params={"limit": 500}, headers=w.admin.headers))
    return [
        (
            i["type"],
            i["version"],
            i["payload"].get("input_tokens"),
            i["payload"].get("output_tokens"),
            i["payload"].get("cost_usd"),
            i["payload"].get("request_sha256"),
        )
        for i in items["items"]
        if i["type"] in ("ModelCallMade", "Escalated", "AssistantReplied")
    ]


def audit_count(client: httpx.Client, admin: Person) -> int:
    return len(ok(client.get("/api/audit", params={"limit": 500}, headers=admin.headers))["items"])


def test_an_erasure_leaves_the_persons_text_nowhere_and_the_history_intact(
    client: httpx.Client, container: Container, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = world
    alice_first, alice_second = w.alice
    # stored encrypted: the raw events hold none of Alice's words, but the API shows them to those allowed
    for cid in (*w.alice, w.bob):
        raw = b"".join(stored_states(container, cid))
        assert b"_sealed_" in raw
        assert not [s for s in (*SECRETS, BOB_TEXT) if s.encode() in raw]
    before = readable(client, container, w, alice_first)
    assert ALICE_TEXTS[0] in before and AGENT_TEXT in before and ALICE["email"] in before
    figures = model_call_figures(client, w, alice_first)
    assert figures and any(f[2] for f in figures)
    versions = {cid: len(stored_states(container, cid)) for cid in w.alice}

    # When the admin erases Alice, named by her e-mail written another way
    answers = [ok(client.post(ERASURES, json={"email": " alice.liddell@EXAMPLE.org "}, headers=w.admin.headers), 201)]
    erasure = answers[0]
    assert sorted(erasure["conversations"]) == sorted(w.alice)

    # Then her words are nowhere: transcript, agent view, monitor, replay, state, exports, audit log
    for cid in w.alice:
        after = readable(client, container, w, cid)
        answers.append(after)
        assert not leaks(after), sorted({(p, s[:12]) for s, p in leaks(after)})
        assert "[erased]" in after
    assert BOB_TEXT in readable(client, container, w, w.bob)  # another visitor is untouched
    # the history is intact: one event more per conversation, the same model calls, tokens, costs and decisions
    assert {cid: len(stored_states(container, cid)) for cid in w.alice} == {c: v + 1 for c, v in versions.items()}
    assert model_call_figures(client, w, alice_first) == figures
    # the erasure is in the audit log, by the admin, without a word of hers
    rows = ok(client.get("/api/audit", params={"kind": "conversation.personal_data_erased"}, headers=w.admin.headers))
    assert sorted(r["aggregate_id"] for r in rows["items"]) == sorted(w.alice)
    assert {r["actor_id"] for r in rows["items"]} == {w.admin.account_id}
    assert {r["details"]["erasure_id"] for r in rows["items"]} == {erasure["erasure_id"]}
    assert {r["details"]["reason"] for r in rows["items"]} == {"request"}
    # the chain still verifies (it hashes the ciphertext, which did not change)
    report = verify(container.database_url, "chatassist_events")
    assert report.ok and report.chained >= sum(versions.values()), report.broken
    # she cannot write into an erased conversation
    refused = client.post(
        "/api/chat",
        json={"message": "hello again", "conversation_id": alice_second, "user": ALICE},
        headers={"X-Widget-Key": w.key, "X-Visitor-Token": TOKENS[alice_second]},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "conversation_erased", refused.text

    # A full rebuild of every projection does not bring anything back
    rebuild_all(container, stream=io.StringIO())
    for cid in w.alice:
        rebuilt = readable(client, container, w, cid)
        answers.append(rebuilt)
        assert not leaks(rebuilt), sorted({(p, s[:12]) for s, p in leaks(rebuilt)})
    assert BOB_TEXT in readable(client, container, w, w.bob)

    # No data key in any event, answer or log line (raw bytes, base64 and hex)
    with psycopg.connect(container.database_url) as conn:
        everything = b"".join(bytes(r[0]) for r in conn.execute("SELECT state FROM chatassist_events"))
        audit_rows = repr(conn.execute("SELECT details FROM audit_v1_log").fetchall())
    logs = "\n".join(r.getMessage() for r in caplog.records)
    said = "\n".join(a if isinstance(a, str) else repr(a) for a in answers)
    for data_key in w.data_keys:
        for form in (base64.b64encode(data_key).decode(), data_key.hex(), base64.urlsafe_b64encode(data_key).decode()):
            assert form.encode() not in everything
            assert form not in logs and form not in said and form not in audit_rows
        assert data_key not in everything


def test_bad_erasures_are_refused_with_stable_codes_and_write_nothing(
    client: httpx.Client, container: Container, world: World
) -> None:
    w = world

    def erased_keys() -> int:
        with psycopg.connect(container.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM chatassist_personal_keys WHERE erased_at IS NOT NULL").fetchone()
        return int(row[0]) if row else 0

    container.wait_for_projections()
    start = (erased_keys(), audit_count(client, w.admin))
    for who in (w.agent, w.auditor):
        refused = client.post(ERASURES, json={"user_id": ALICE["id"]}, headers=who.headers)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied", refused.text
    assert client.post(ERASURES, json={"user_id": ALICE["id"]}).status_code == 401
    for body, status, code in (
        ({}, 422, "invalid_erasure_request"),
        ({"user_id": ALICE["id"], "email": ALICE["email"]}, 422, "invalid_erasure_request"),
        ({"user_id": "   "}, 422, "invalid_erasure_request"),
        ({"email": "x" * 321}, 422, "invalid_erasure_request"),
        ({"user_id": "nobody-here"}, 404, "end_user_not_found"),
        ({"email": BOB["email"].replace("bob", "rob")}, 404, "end_user_not_found"),
    ):
        refused = client.post(ERASURES, json=body, headers=w.admin.headers)
        assert (refused.status_code, refused.json()["code"]) == (status, code), (body, refused.text)
        assert refused.json()["message"]
    # another workspace's admin does not find Alice
    other, _ = sign_up(client, workspace="Elsewhere")
    refused = client.post(ERASURES, json={"user_id": ALICE["id"]}, headers=other.headers)
    assert (refused.status_code, refused.json()["code"]) == (404, "end_user_not_found")
    container.wait_for_projections()
    assert (erased_keys(), audit_count(client, w.admin)) == start

    ok(client.post(ERASURES, json={"user_id": ALICE["id"]}, headers=w.admin.headers), 201)
    container.wait_for_projections()
    middle = (erased_keys(), audit_count(client, w.admin))
    assert middle == (start[0] + 2, start[1] + 2)
    for body in ({"user_id": ALICE["id"]}, {"email": ALICE["email"]}):
        again = client.post(ERASURES, json=body, headers=w.admin.headers)
        assert (again.status_code, again.json()["code"]) == (409, "already_erased"), again.text
    container.wait_for_projections()
    assert (erased_keys(), audit_count(client, w.admin)) == middle


def old_conversation(container: Container, workspace_id: str, days_ago: int, text: str) -> uuid.UUID:
    """A conversation whose every event happened ``days_ago`` days ago (its key stored then too)."""
    with events_at(datetime.now(UTC) - timedelta(days=days_ago)):
        c = Conversation(uuid.UUID(workspace_id), "widget", {"user_id": f"visitor-{uuid.uuid4().hex[:8]}"})
        c.receive("m1", text)
        container.app.save(c)
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE chatassist_personal_keys SET created_at = now() - make_interval(days => %s)"
            " WHERE conversation_id = %s",
            (days_ago, c.id),
        )
    return c.id


def test_the_retention_job_erases_conversations_idle_past_the_workspace_setting(
    client: httpx.Client, container: Container
) -> None:
    # Given a workspace keeping personal data 30 days, with a conversation idle for 45 days and one of 10 days,
    # and a workspace that keeps it forever (0) with a conversation of 400 days
    admin, _ = sign_up(client, workspace="Retention Co")
    ok(client.patch("/api/settings", json={"personal_data_retention_days": 30}, headers=admin.headers))
    keeper, _ = sign_up(client, workspace="Keeps Everything")
    # (its read models keep ten years too, so no retention purge of the session's database takes the old row away)
    keeps = {"personal_data_retention_days": 0, "analytics_retention_days": 3650}
    ok(client.patch("/api/settings", json=keeps, headers=keeper.headers))
    stale = old_conversation(container, admin.workspace_id, 45, "Old question about the snark")
    fresh = old_conversation(container, admin.workspace_id, 10, "Recent question about the boojum")
    kept = old_conversation(container, keeper.workspace_id, 400, "Ancient question about the bandersnatch")

    # When the scheduler's retention job runs (twice: the second finds nothing)
    first = erase_expired_personal_data(container.app)
    second = erase_expired_personal_data(container.app)

    # Then only the stale conversation is erased, with no actor and the reason "retention"
    assert first.get(admin.workspace_id) == 1 and keeper.workspace_id not in first
    assert admin.workspace_id not in second
    container.wait_for_projections()
    texts = {
        c: ok(client.get(f"/api/conversations/{c}", headers=who.headers))["messages"][0]["text"]
        for c, who in ((stale, admin), (fresh, admin), (kept, keeper))
    }
    assert texts == {
        stale: "[erased]",
        fresh: "Recent question about the boojum",
        kept: "Ancient question about the bandersnatch",
    }
    rows = ok(client.get("/api/audit", params={"kind": "conversation.personal_data_erased"}, headers=admin.headers))
    assert [(r["aggregate_id"], r["actor_id"], r["details"]["reason"]) for r in rows["items"]] == [
        (str(stale), None, "retention")
    ]
