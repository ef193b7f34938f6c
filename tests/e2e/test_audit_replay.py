"""Audit replay over the real server (issue 17): a scripted conversation with a provider fallback, an escalation, a
handoff and an agent's reply is replayed from its events by an auditor, and at every version the replayed state is
the state the live application held; agents' actions and every replay are rows of the audit log."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from chatassist.bootstrap import Container
from commands._common import update
from commands.receive_message import cmd as receive
from commands.replay_conversation import pdf as replay_pdf
from commands.replay_conversation.state import state_of
from domain.conversation import Conversation, ModelCall
from tests.conftest import chat
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up

AUDIT = "/api/audit/conversations"
AGENT = "/api/agent/conversations"
VISITOR_TEXTS = ("How do I reset my password?", "I want to talk to a human", "Thanks, and how do I change my email?")
AGENT_TEXT = "Hi, Alex from support here: I have reset it for you."
NOTE_TEXT = "Customer verified by phone."


@dataclass
class Snapshot:
    """The live conversation after one step: its version, state and the time of its last event."""

    step: str
    version: int
    state: dict[str, Any]
    time: str


@dataclass
class Scripted:
    conversation_id: str
    admin: Person
    agent: Person
    auditor: Person
    snapshots: list[Snapshot]
    widget_key: str


def live(container: Container, conversation_id: str, step: str) -> Snapshot:
    """The conversation as the running application holds it now (its cached aggregate, built by the commands)."""
    conversation = container.app.repository.get(uuid.UUID(conversation_id))
    assert isinstance(conversation, Conversation)
    last = list(container.app.events.get(uuid.UUID(conversation_id), gt=conversation.version - 1))[-1]
    return Snapshot(step, conversation.version, state_of(conversation), last.timestamp.isoformat())


def act(client: httpx.Client, who: Person, conversation_id: str, action: str, **body: Any) -> None:
    method = "PUT" if action == "topic" else "POST"
    response = client.request(method, f"{AGENT}/{conversation_id}/{action}", json=body or None, headers=who.headers)
    assert response.status_code in (200, 201), response.text


@pytest.fixture
def scripted(client: httpx.Client, container: Container, fake_llm: FakeLLMServer) -> Scripted:
    """Given a workspace with an agent and an auditor, and a conversation: a fallback from Anthropic (overloaded) to
    OpenAI, an escalation, a claim, an agent's reply, a note, a topic change, a return to the AI, an AI answer, a
    resolve and a close by the agent; the live state captured after each step."""
    admin, body = sign_up(client, workspace="Replay Co")
    key = body["widget_key"]
    agent = invite_and_join(client, admin, "agent")
    auditor = invite_and_join(client, admin, "auditor")
    snaps: list[Snapshot] = []
    fake_llm.enqueue("anthropic", Script(kind="status", status=529))
    fake_llm.enqueue("openai", Script(text="Use the reset link on the sign-in page."))
    events = chat(client, key, VISITOR_TEXTS[0])
    cid = str(events[0][1]["conversation_id"])
    snaps.append(live(container, cid, "fallback answer"))
    events = chat(client, key, VISITOR_TEXTS[1], conversation_id=cid)
    assert events[-1][1]["escalation"]["rule"] == "human_requested"
    snaps.append(live(container, cid, "escalated"))
    for action, step_body in (
        ("claim", {}),
        ("reply", {"text": AGENT_TEXT}),
        ("notes", {"text": NOTE_TEXT}),
        ("topic", {"topic": "Billing"}),
        ("return-to-ai", {}),
    ):
        act(client, agent, cid, action, **step_body)
        snaps.append(live(container, cid, action))
    fake_llm.enqueue("anthropic", Script(text="Go to Settings, then Email."))
    chat(client, key, VISITOR_TEXTS[2], conversation_id=cid)
    snaps.append(live(container, cid, "ai answer"))
    for action in ("resolve", "close"):
        act(client, agent, cid, action)
        snaps.append(live(container, cid, action))
    return Scripted(cid, admin, agent, auditor, snaps, key)


def get(client: httpx.Client, who: Person, path: str, **params: Any) -> httpx.Response:
    return client.get(path, params=params, headers=who.headers)


def all_events(client: httpx.Client, who: Person, cid: str, limit: int = 4, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = get(client, who, f"{AUDIT}/{cid}/events", after=after, limit=limit, **params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        if body["next_after"] is None:
            return items
        after = body["next_after"]


def test_the_replay_equals_the_live_state_at_every_version(
    client: httpx.Client, container: Container, scripted: Scripted
) -> None:
    cid, auditor = scripted.conversation_id, scripted.auditor
    # When the auditor reads the state at each version the live application reached after a step
    for snap in scripted.snapshots:
        response = get(client, auditor, f"{AUDIT}/{cid}/state", at_version=snap.version)
        assert response.status_code == 200, response.text
        body = response.json()
        # I expect exactly the live state, at that version
        assert body["version"] == snap.version and body["state"] == snap.state, snap.step
        # and the same answer for the instant of that version's last event
        by_time = get(client, auditor, f"{AUDIT}/{cid}/state", at=snap.time).json()
        assert by_time["version"] == snap.version and by_time["state"] == snap.state, snap.step
    # and at every version in between, what the library's repository rebuilds
    last = scripted.snapshots[-1].version
    for version in range(1, last + 1):
        body = get(client, auditor, f"{AUDIT}/{cid}/state", at_version=version).json()
        expected = container.app.repository.get(uuid.UUID(cid), version=version)
        assert body["state"] == state_of(expected) and body["last_version"] == last
    # and the final state is the closed chat, with the agent's reply among the turns
    final = scripted.snapshots[-1].state
    assert final["status"] == "closed" and final["handler"] == "ai"
    assert next(s for s in scripted.snapshots if s.step == "topic").state["topic"] == "Billing"
    assert {"role": "assistant", "text": AGENT_TEXT} in final["turns"]


def test_the_events_are_paged_in_order_with_their_actors(client: httpx.Client, scripted: Scripted) -> None:
    cid = scripted.conversation_id
    # When the auditor pages through the events four at a time
    items = all_events(client, scripted.auditor, cid)
    # I expect every version once, in order
    assert [e["version"] for e in items] == list(range(1, scripted.snapshots[-1].version + 1))
    types = [e["type"] for e in items]
    assert types[0] == "Started" and types[-1] == "Closed"
    # the fallback: Anthropic overloaded, then OpenAI, both recorded with a request hash
    calls = [e for e in items if e["type"] == "ModelCallMade"]
    first_turn = [(c["payload"]["provider"], c["payload"]["outcome"]) for c in calls[:2]]
    assert first_turn == [("anthropic", "fell_back"), ("openai", "ok")]
    assert all(len(c["payload"]["request_sha256"]) == 64 for c in calls)
    assert calls[0]["actor"] == {"kind": "ai", "id": f"anthropic/{calls[0]['payload']['model']}"}
    # the escalation by its rule, the person's actions by the agent
    escalated = next(e for e in items if e["type"] == "Escalated")
    assert escalated["actor"] == {"kind": "rules", "id": "human_requested"}
    by_agent = {"kind": "agent", "id": scripted.agent.account_id}
    for name in ("AgentClaimed", "AgentReplied", "NoteAdded", "TopicChanged", "ReturnedToAI", "Resolved", "Closed"):
        assert next(e for e in items if e["type"] == name)["actor"] == by_agent, name
    # and the visitor's words and the agent's in the personal fields
    assert next(e for e in items if e["type"] == "AgentReplied")["payload"]["personal"]["text"] == AGENT_TEXT
    received = [e["payload"]["personal"]["text"] for e in items if e["type"] == "UserMessageReceived"]
    assert received == list(VISITOR_TEXTS)


def test_redacted_replays_show_no_personal_field(client: httpx.Client, scripted: Scripted) -> None:
    cid = scripted.conversation_id
    # When the auditor asks for a redacted replay (to share it outside the team)
    events = get(client, scripted.auditor, f"{AUDIT}/{cid}/events", limit=500, redact="true")
    state = get(client, scripted.auditor, f"{AUDIT}/{cid}/state", redact="true")
    # I expect no visitor or agent text anywhere, and the personal keys kept with their values masked
    for response in (events, state):
        assert response.status_code == 200
        for text in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT, "visitor-1"):
            assert text not in response.text
    started = events.json()["items"][0]
    assert started["payload"]["personal"] == {"user_id": "[redacted]", "email": "[redacted]", "name": "[redacted]"}
    assert {t["text"] for t in state.json()["state"]["turns"]} == {"[redacted]"}


def test_bad_input_is_refused_with_stable_codes_and_writes_nothing(
    client: httpx.Client, container: Container, scripted: Scripted
) -> None:
    cid, auditor = scripted.conversation_id, scripted.auditor
    other_admin, _ = sign_up(client, workspace="Elsewhere")
    last = scripted.snapshots[-1].version
    first_time = get(client, auditor, f"{AUDIT}/{cid}/state", at_version=1).json()["time"]
    container.wait_for_projections()
    before = audit_rows(client, scripted.admin, "audit.")
    cases = [
        (get(client, auditor, f"{AUDIT}/{uuid.uuid4()}/events"), 404, "conversation_not_found"),
        (get(client, auditor, f"{AUDIT}/{uuid.uuid4()}/state"), 404, "conversation_not_found"),
        (get(client, other_admin, f"{AUDIT}/{cid}/events"), 404, "conversation_not_found"),
        (get(client, other_admin, f"{AUDIT}/{cid}/state", at_version=1), 404, "conversation_not_found"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at_version=last + 1), 422, "version_past_end"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at_version=0), 422, "invalid_version"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at_version="two"), 422, "invalid_version"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at="2001-01-01T00:00:00Z"), 422, "before_conversation_start"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at="yesterday"), 422, "invalid_instant"),
        (get(client, auditor, f"{AUDIT}/{cid}/state", at_version=1, at=first_time), 422, "ambiguous_point"),
        (get(client, auditor, f"{AUDIT}/{cid}/events", limit=501), 422, "limit_too_large"),
        (get(client, auditor, f"{AUDIT}/{cid}/events", limit=0), 422, "invalid_limit"),
        (get(client, auditor, f"{AUDIT}/{cid}/events", after=-1), 422, "invalid_cursor"),
        (get(client, scripted.agent, f"{AUDIT}/{cid}/events"), 403, "permission_denied"),
        (client.get(f"{AUDIT}/{cid}/events"), 401, None),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.text)
        if code:
            assert response.json()["code"] == code and response.json()["message"]
    # I expect no refused call in the audit log
    container.wait_for_projections()
    assert audit_rows(client, scripted.admin, "audit.") == before


def audit_rows(client: httpx.Client, admin: Person, kind: str) -> list[dict[str, Any]]:
    response = client.get("/api/audit", params={"kind": kind, "limit": 500}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_agents_actions_and_every_replay_are_in_the_audit_log(
    client: httpx.Client, container: Container, scripted: Scripted
) -> None:
    cid, auditor, agent = scripted.conversation_id, scripted.auditor, scripted.agent
    # When the auditor reads two pages of events and one state
    get(client, auditor, f"{AUDIT}/{cid}/events", limit=2)
    get(client, auditor, f"{AUDIT}/{cid}/events", limit=2, after=2)
    get(client, auditor, f"{AUDIT}/{cid}/state", at_version=3)
    container.wait_for_projections()
    # I expect the agent's actions as rows naming the agent, oldest first
    people = list(reversed(audit_rows(client, scripted.admin, "conversation.")))
    assert [r["kind"] for r in people] == [
        "conversation.claimed",
        "conversation.agent_replied",
        "conversation.note_added",
        "conversation.topic_changed",
        "conversation.returned_to_ai",
        "conversation.resolved",
        "conversation.closed",
    ]
    assert {r["actor_id"] for r in people} == {agent.account_id}
    assert {r["aggregate_id"] for r in people} == {cid}
    assert people[3]["details"] == {"topic": "Billing", "previous": people[3]["details"]["previous"]}
    # and each replay call as a row naming the auditor and the conversation
    replays = list(reversed(audit_rows(client, scripted.admin, "audit.")))
    assert [r["kind"] for r in replays] == [
        "audit.conversation_replayed",
        "audit.conversation_replayed",
        "audit.conversation_state_read",
    ]
    assert {r["actor_id"] for r in replays} == {auditor.account_id}
    assert {r["details"]["conversation_id"] for r in replays} == {cid}
    assert replays[2]["details"]["version"] == 3
    # and no text of the visitor or the agent in any row
    dumped = json.dumps(people + replays)
    assert not any(text in dumped for text in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT))
    # and the auditor reads the log too, but nothing else of the workspace
    assert client.get("/api/audit", headers=auditor.headers).status_code == 200
    for path in ("/api/team", "/api/settings", "/api/analytics/overview", f"/api/conversations/{cid}", "/api/monitor"):
        assert client.get(path, headers=auditor.headers).status_code == 403, path


def test_what_the_ai_was_told_is_rebuilt_to_the_hash_each_call_recorded(
    client: httpx.Client, container: Container, scripted: Scripted, fake_llm: FakeLLMServer
) -> None:
    cid, auditor = scripted.conversation_id, scripted.auditor
    calls = [e for e in all_events(client, auditor, cid, limit=500) if e["type"] == "ModelCallMade"]
    # Given the bodies the providers' fake received, hashed as the orchestrator hashes a request
    received = {
        provider: [canonical_sha256(provider, r.json) for r in fake_llm.requests_for(provider)]
        for provider in ("anthropic", "openai")
    }
    # and a prompt changed since (the rebuild must use the workspace as it was)
    changed = client.patch("/api/settings", json={"max_response_tokens": 77}, headers=scripted.admin.headers)
    assert changed.status_code == 200, changed.text
    # When the auditor rebuilds the request of every model call
    rebuilt = []
    for call in calls:
        path = f"{AUDIT}/{cid}/model-calls/{call['payload']['call_id']}/request"
        response = get(client, auditor, path)
        assert response.status_code == 200, response.text
        rebuilt.append(response.json())
    # I expect each to hash to what the call recorded, which is the hash of what the provider was sent
    assert [r["verdict"] for r in rebuilt] == ["match"] * len(calls)
    assert [r["rebuilt_sha256"] for r in rebuilt] == [c["payload"]["request_sha256"] for c in calls]
    for provider in ("anthropic", "openai"):
        recorded = [c["payload"]["request_sha256"] for c in calls if c["payload"]["provider"] == provider]
        assert recorded == received[provider], provider
    # and the request to show the history window as it was: the first turn ends with the first message, the last
    # call (after the handoff) with the third, the agent's reply in between
    first, last = rebuilt[0]["body"]["messages"], rebuilt[-1]["body"]["messages"]
    assert first[-1] == {"role": "user", "content": VISITOR_TEXTS[0]}
    assert last[-1] == {"role": "user", "content": VISITOR_TEXTS[2]}
    assert {"role": "assistant", "content": AGENT_TEXT} in last
    limits = {r["body"].get("max_tokens") or r["body"]["max_completion_tokens"] for r in rebuilt}
    workspace_now = container.app.repository.get(uuid.UUID(scripted.admin.workspace_id)).version
    assert 77 not in limits and max(r["workspace_version"] for r in rebuilt) < workspace_now
    # When it is asked redacted
    masked = get(client, auditor, f"{AUDIT}/{cid}/model-calls/{calls[-1]['payload']['call_id']}/request", redact="true")
    # I expect the same verdict, and none of the conversation's texts
    assert masked.json()["verdict"] == "match"
    assert not any(text in masked.text for text in (*VISITOR_TEXTS, AGENT_TEXT))
    # and an unknown call refused
    missing = get(client, auditor, f"{AUDIT}/{cid}/model-calls/no-such-call/request")
    assert missing.status_code == 404 and missing.json()["code"] == "model_call_not_found"


def canonical_sha256(provider: str, body: dict[str, Any]) -> str:
    data = json.dumps({"provider": provider, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def test_a_forged_hash_is_a_mismatch_and_an_old_call_is_not_recorded(
    client: httpx.Client, container: Container
) -> None:
    # Given a conversation whose model calls were recorded with a wrong hash and with none (as before issue 17)
    admin, _ = sign_up(client, workspace="Forged Co")
    workspace_id = uuid.UUID(admin.workspace_id)
    got = receive.execute(container.app, receive.ReceiveMessage(workspace_id, None, receive.EndUser("v-9"), "Hi?"))

    def calls(conversation: Conversation) -> None:
        for attempt, digest in ((1, "0" * 64), (2, None)):
            call = ModelCall(f"forged-{attempt}", "anthropic", "claude-sonnet-4-6", 1, attempt, 1, 1, 0, 0, None,
                             1.0, None, "fell_back" if attempt == 1 else "ok", None, digest)  # fmt: skip
            conversation.record_model_call(got.message_id, call)

    update(container.app, got.conversation_id, Conversation, "conversation", calls)
    # When the admin rebuilds both requests
    path = f"{AUDIT}/{got.conversation_id}/model-calls"
    forged = get(client, admin, f"{path}/forged-1/request").json()
    old = get(client, admin, f"{path}/forged-2/request").json()
    # I expect the forged one to be a mismatch and the other "not recorded", both showing the rebuilt request
    assert forged["verdict"] == "mismatch" and forged["recorded_sha256"] == "0" * 64
    assert old["verdict"] == "not_recorded" and old["recorded_sha256"] is None
    assert forged["rebuilt_sha256"] == old["rebuilt_sha256"]
    assert old["body"]["messages"][-1] == {"role": "user", "content": "Hi?"}


def test_exports_as_json_lines_and_as_a_markdown_transcript_with_the_audit_trail(
    client: httpx.Client, container: Container, scripted: Scripted
) -> None:
    cid, auditor = scripted.conversation_id, scripted.auditor
    container.wait_for_projections()  # the agents' actions are in the audit log
    # When the auditor exports the conversation as JSON Lines
    response = get(client, auditor, f"{AUDIT}/{cid}/export", format="jsonl")
    # I expect an attachment with one line per event, equal to the events of the API
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="conversation-{cid}-')
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == all_events(client, auditor, cid, limit=500)
    # When it exports the Markdown transcript
    md = get(client, auditor, f"{AUDIT}/{cid}/export", format="md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    text = md.text
    # I expect the timeline with every message, each model call checked, and the audit trail of the agent's actions
    assert text.startswith(f"# Conversation {cid}\n")
    events_count = len(lines)
    assert f"- Tamper evidence: the hash chain of its {events_count} events verifies ({events_count} chained)" in text
    assert all(t in text for t in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT))
    calls = [line for line in text.splitlines() if line.startswith("| ") and "rebuilt, hash matches" in line]
    assert len(calls) == sum(1 for e in lines if e["type"] == "ModelCallMade")
    trail = text.split("## Audit trail", 1)[1]
    for kind in ("conversation.claimed", "conversation.agent_replied", "conversation.closed"):
        assert f"| {scripted.agent.account_id} | {kind} |" in trail
    # When it exports redacted, I expect none of the texts in either format
    for format_ in ("jsonl", "md"):
        redacted = get(client, auditor, f"{AUDIT}/{cid}/export", format=format_, redact="true")
        assert redacted.status_code == 200
        assert not any(t in redacted.text for t in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT, "visitor-1")), format_
    # and each export in the audit log, with its format
    container.wait_for_projections()
    exports = audit_rows(client, scripted.admin, "audit.conversation_exported")
    assert sorted(r["details"]["format"] for r in exports) == ["jsonl", "jsonl", "md", "md"]
    assert {r["actor_id"] for r in exports} == {auditor.account_id}
    # and bad input refused before anything is written
    other_admin, _ = sign_up(client, workspace="Elsewhere export")
    refused = [
        (get(client, auditor, f"{AUDIT}/{cid}/export", format="docx"), 422, "unknown_format"),
        (get(client, other_admin, f"{AUDIT}/{cid}/export"), 404, "conversation_not_found"),
        (get(client, auditor, f"{AUDIT}/{uuid.uuid4()}/export"), 404, "conversation_not_found"),
    ]
    for got, status, code in refused:
        assert got.status_code == status and got.json()["code"] == code
    container.wait_for_projections()
    assert len(audit_rows(client, scripted.admin, "audit.conversation_exported")) == 4


def test_exports_a_pdf_transcript_with_the_model_calls_chain_check_and_audit_trail(
    client: httpx.Client, container: Container, scripted: Scripted, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cid, auditor = scripted.conversation_id, scripted.auditor
    container.wait_for_projections()  # the agents' actions are in the audit log
    events = all_events(client, auditor, cid, limit=500)
    # When the auditor exports the conversation as a PDF
    response = get(client, auditor, f"{AUDIT}/{cid}/export", format="pdf")
    # I expect a PDF attachment whose text (read back by pypdf) holds the whole transcript
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].endswith('.pdf"')
    (tmp_path / "transcript.pdf").write_bytes(response.content)  # to look at (pdftoppm)
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert f"Conversation {cid}" in text
    assert f"Tamper evidence: the hash chain of its {len(events)} events verifies ({len(events)} chained)" in text
    assert all(t in text for t in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT)), text[:2000]
    calls = sum(1 for e in events if e["type"] == "ModelCallMade")
    assert calls >= 2 and text.count("rebuilt, hash matches") == calls
    trail = text.split("Audit trail", 1)[1]
    for kind in ("conversation.claimed", "conversation.agent_replied", "conversation.closed"):
        assert f"{scripted.agent.account_id} {kind}" in trail, kind
    # When it exports redacted, I expect none of the texts
    redacted = get(client, auditor, f"{AUDIT}/{cid}/export", format="pdf", redact="true")
    plain = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(redacted.content)).pages)
    assert redacted.status_code == 200 and "Tamper evidence" in " ".join(plain.split())
    assert not any(t in " ".join(plain.split()) for t in (*VISITOR_TEXTS, AGENT_TEXT, NOTE_TEXT))
    # When a conversation is longer than a PDF may be, or a range is asked as a PDF, I expect a 422, nothing logged
    monkeypatch.setattr(replay_pdf, "MAX_EVENTS", len(events) - 1)
    too_long = get(client, auditor, f"{AUDIT}/{cid}/export", format="pdf")
    assert too_long.status_code == 422 and too_long.json()["code"] == "export_too_large"
    assert "Export it as md or jsonl" in too_long.json()["message"]
    day = events[0]["time"][:10]
    ranged = get(client, auditor, f"{AUDIT}/export", format="pdf", **{"from": day, "to": day})
    assert ranged.status_code == 422 and ranged.json()["code"] == "unknown_format"
    container.wait_for_projections()
    exports = audit_rows(client, scripted.admin, "audit.conversation_exported")
    assert sorted(r["details"]["format"] for r in exports) == ["pdf", "pdf"]


def test_every_conversation_of_a_range_exports_with_its_chain_check(
    client: httpx.Client, container: Container, scripted: Scripted, fake_llm: FakeLLMServer
) -> None:
    # Given a second conversation in the workspace, and one in another workspace
    fake_llm.enqueue("anthropic", Script(text="Our opening hours are 9 to 5."))
    second = str(chat(client, scripted.widget_key, "When are you open?")[0][1]["conversation_id"])
    other_admin, other = sign_up(client, workspace="Elsewhere range")
    fake_llm.enqueue("anthropic", Script(text="Hello."))
    chat(client, other["widget_key"], "Hi there")
    container.wait_for_projections()
    auditor, day = scripted.auditor, scripted.snapshots[0].time[:10]
    span = {"from": day, "to": (date.fromisoformat(day) + timedelta(days=1)).isoformat()}
    # When the auditor exports the day as JSON Lines
    response = get(client, auditor, f"{AUDIT}/export", format="jsonl", **span)
    # I expect an attachment: per conversation of this workspace (oldest first), its record with a verified chain,
    # then its events as the API gives them
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith('attachment; filename="conversations-')
    lines = [json.loads(line) for line in response.text.splitlines()]
    heads = [line for line in lines if line["record"] == "conversation"]
    assert [h["conversation_id"] for h in heads] == [scripted.conversation_id, second]
    for head in heads:
        cid = head["conversation_id"]
        events = [
            {k: v for k, v in line.items() if k not in ("record", "conversation_id")}
            for line in lines
            if line["record"] == "event" and line["conversation_id"] == cid
        ]
        assert events == all_events(client, auditor, cid, limit=500)
        assert head["chain"] == {
            "ok": True, "events": len(events), "chained": len(events), "before_chain": 0, "broken": [],
        }  # fmt: skip
    # When it exports the same range as Markdown
    md = get(client, auditor, f"{AUDIT}/export", format="md", **span)
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    # I expect both transcripts with their texts, and the summary of the chain checks
    assert f"# Conversation {scripted.conversation_id}\n" in md.text and f"# Conversation {second}\n" in md.text
    assert all(t in md.text for t in (*VISITOR_TEXTS, "When are you open?")) and "Hi there" not in md.text
    assert "- 2 conversations exported\n- Tamper evidence: every hash chain verifies\n" in md.text
    # When the range holds no activity, I expect only the heading and an empty summary
    empty = get(client, auditor, f"{AUDIT}/export", format="md", **{"from": "2001-01-01", "to": "2001-01-31"})
    assert (
        empty.status_code == 200 and "- 0 conversations exported" in empty.text and "# Conversation " not in empty.text
    )
    # and each export one audit-log row with its range and format, by the auditor
    container.wait_for_projections()
    rows = audit_rows(client, scripted.admin, "audit.conversations_exported")
    assert sorted(r["details"]["format"] for r in rows) == ["jsonl", "md", "md"]
    assert {r["actor_id"] for r in rows} == {auditor.account_id}
    assert {r["details"]["from"][:10] for r in rows} == {day, "2001-01-01"}
    # and bad input refused with its code, nothing written
    refused = [
        (
            get(client, auditor, f"{AUDIT}/export", **{"from": "2026-01-01", "to": "2026-03-01"}),
            422,
            "export_range_too_large",
        ),
        (get(client, auditor, f"{AUDIT}/export", **{"from": day}), 422, "invalid_date_range"),
        (get(client, auditor, f"{AUDIT}/export", **{"from": span["to"], "to": day}), 422, "invalid_date_range"),
        (get(client, auditor, f"{AUDIT}/export", **{"from": "soon", "to": day}), 422, "invalid_date_range"),
        (get(client, auditor, f"{AUDIT}/export", format="pdf", **span), 422, "unknown_format"),
        (get(client, scripted.agent, f"{AUDIT}/export", **span), 403, "permission_denied"),
    ]
    for got, status, code in refused:
        assert got.status_code == status and got.json()["code"] == code, (code, got.text)
    container.wait_for_projections()
    assert len(audit_rows(client, scripted.admin, "audit.conversations_exported")) == 3
    assert other_admin.account_id not in {r["actor_id"] for r in rows}
