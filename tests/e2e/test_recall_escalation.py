"""An agent recalls a wrong escalation over the real server (docs/escalation.md, "Recalling an escalation"): who
and why recorded, the chat back with the AI (which no longer reads the recalled messages), the audit log's row,
the refusals, and the corpus export of the correction as a labelled example."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from chatassist.bootstrap import Container
from domain.decisions import corpus
from tests.conftest import chat, event_names
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import invite_and_join, sign_up

AGENT_API = "/api/agent/conversations"
NOT_LEGAL = "I need the legal department's invoices for our lawsuit against a supplier, can you export them?"


def test_an_agent_recalls_a_wrong_escalation_and_it_becomes_a_labelled_example(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer, tmp_path: Path
) -> None:
    admin, body = sign_up(client, workspace="Recall Co")
    agent = invite_and_join(client, admin, "agent")
    viewer = invite_and_join(client, admin, "viewer")
    # Given a conversation escalated as P1 for a legal word used as subject matter
    events = chat(client, body["widget_key"], NOT_LEGAL)
    assert events[-1][1]["escalation"]["rule"] == "p1_legal"
    conversation_id = events[0][1]["conversation_id"]
    url = f"{AGENT_API}/{conversation_id}/recall-escalation"
    # When a viewer tries, or an agent gives no reason or an impossible label
    refused = [
        client.post(url, json={"reason": "not legal"}, headers=viewer.headers),
        client.post(url, json={"reason": "  "}, headers=agent.headers),
        client.post(url, json={"reason": "not legal", "label": "p1"}, headers=agent.headers),
        client.post(url, json={"reason": "not legal", "label": "maybe"}, headers=agent.headers),
        client.post(url, json={"reason": "not legal", "extra": 1}, headers=agent.headers),
    ]
    # I expect 403, 422 invalid_recall (three times: empty, the recalled rule itself, unknown) and 400, nothing written
    assert [r.status_code for r in refused] == [403, 422, 422, 422, 400]
    assert {r.json()["code"] for r in refused[1:4]} == {"invalid_recall"}
    assert "EscalationRecalled" not in event_names(container, conversation_id)
    # When the agent recalls it: not a legal matter, no rule applied
    recalled = client.post(url, json={"reason": "not a legal matter", "label": "none"}, headers=agent.headers)
    # I expect the chat back with the AI, the event with who and why
    assert recalled.status_code == 200, recalled.text
    assert (recalled.json()["state"], recalled.json()["assignee"]) == ("returned_to_ai", None)
    again = client.post(url, json={"reason": "still not legal"}, headers=agent.headers)
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_recall")
    view = client.get(f"{AGENT_API}/{conversation_id}", headers=agent.headers).json()
    step = [i for i in view["timeline"] if i["kind"] == "escalation_recalled"]
    assert [(s["agent_id"], s["rule"], s["label"], s["reason"]) for s in step] == [
        (agent.account_id, "p1_legal", "none", "not a legal matter")
    ]
    assert view["escalation"]["recalled"]["reason"] == "not a legal matter"
    # and the visitor's next message answered by the AI: the recalled message no longer escalates
    fake_llm.enqueue("anthropic", Script(text="Open Billing, then Invoices, and export them as a ZIP."))
    follow = chat(client, body["widget_key"], "thanks, which format are they in?", conversation_id=conversation_id)
    assert follow[-1][1]["escalation"] is None and follow[-1][1]["provider"] == "anthropic"
    # and the audit log's row names the agent and the reason
    container.wait_for_projections()
    audit = client.get("/api/audit", params={"kind": "conversation.escalation_recalled"}, headers=admin.headers)
    assert audit.status_code == 200, audit.text
    (row,) = audit.json()["items"]
    assert (row["actor_id"], row["aggregate_id"]) == (agent.account_id, conversation_id)
    assert row["details"] == {"rule": "p1_legal", "label": "none", "reason": "not a legal matter"}
    # and the monitor read model shows it back with the AI, out of the queue
    monitor = client.get("/api/monitor", params={"view": "active"}, headers=agent.headers)
    assert monitor.status_code == 200, monitor.text
    (mine,) = [c for c in monitor.json()["items"] if c["id"] == conversation_id]
    assert mine["state"] == "returned_to_ai"
    # When the recalls are exported in the corpus format (the command in a process of its own, as an operator runs it)
    out = tmp_path / "recalled.txt"
    export_recalls(container, out, admin.workspace_id)
    # I expect one line, a valid corpus line, labelled as the agent said, with the messages the rules had read
    (line,) = out.read_text().splitlines()
    example = corpus.parse(line, "en", 1)
    assert (example.rule, example.messages) == ("none", (NOT_LEGAL,))
    export_recalls(container, out, str(uuid.uuid4()))
    assert out.read_text() == ""


def export_recalls(container: Container, out: Path, workspace: str) -> None:
    """``chatassist corpus export-recalls --out OUT --workspace W`` on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=container.database_url, REDIS_URL=container.redis_url, CHATASSIST_DB_POOL_SIZE="1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatassist.cli",
            "corpus",
            "export-recalls",
            "--out",
            str(out),
            "--workspace",
            workspace,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
