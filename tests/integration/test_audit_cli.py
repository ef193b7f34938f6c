"""``chatassist audit replay`` as a subprocess: a readable timeline of a conversation's events, the state at a
version, and a clear error for an unknown conversation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
from pypdf import PdfReader

from chatassist.bootstrap import Container
from chatassist.settings import Settings
from commands.create_workspace.cmd import WorkspaceCreated
from domain.audit_access import AuditAccess
from tests.conftest import chat, data_root
from tests.integration.test_restart_and_cli import cli_env, run_cli
from tests.support.services import throwaway_database


def test_the_cli_prints_a_timeline_and_the_state_at_a_version(
    settings: Settings, container: Container, client: httpx.Client, workspace: WorkspaceCreated, tmp_path: Path
) -> None:
    # Given a conversation of two visitor messages answered by the (fake) model
    events = chat(client, workspace.widget_key, "How do I reset my password?", user_id="cli-visitor")
    cid = str(events[0][1]["conversation_id"])
    chat(client, workspace.widget_key, "And my email?", conversation_id=cid, user_id="cli-visitor")
    stored = list(container.app.events.get(uuid.UUID(cid)))
    env = cli_env(DATABASE_URL=str(settings.database_url), REDIS_URL=str(settings.redis_url))
    # When the CLI replays it
    done = run_cli("audit", "replay", cid, env=env)
    lines = done.stdout.splitlines()
    # I expect a header, one line per event in order with its version, actor and what happened, then the state
    assert lines[0] == f"conversation {cid} (workspace {workspace.workspace_id}): {len(stored)} events"
    timeline = lines[1 : 1 + len(stored)]
    assert [line.split()[0] for line in timeline] == [f"v{e.originator_version}" for e in stored]
    assert "visitor" in timeline[0] and "by visitor cli-visitor" in timeline[0]
    assert 'visitor: "How do I reset my password?"' in timeline[1]
    call = next(line for line in timeline if "model call #1" in line)
    assert " ai:anthropic/" in call and "request sha256 " in call
    assert lines[1 + len(stored)] == "-- state now:"
    # When it replays up to version 2, as JSON
    done = run_cli("audit", "replay", cid, "--version", "2", "--json", env=env)
    out = json.loads(done.stdout)
    # I expect the first two events and the state after the first visitor message
    assert [e["version"] for e in out["events"]] == [1, 2]
    assert (
        out["state"]["version"] == 2 and out["state"]["state"]["pending"] and out["state"]["state"]["user_turns"] == 1
    )
    # and both replays recorded as accesses without an actor
    accesses = [
        e for e in stored_accesses(container) if e.conversation_id == uuid.UUID(cid) and e.details.get("via") == "cli"
    ]
    assert [a.details["version"] for a in accesses][:2] == [len(stored), 2] and {a.by for a in accesses} == {None}
    # When it checks what the AI was told for every model call
    done = run_cli("audit", "request", cid, env=env)
    # I expect one line per call, each rebuilt to its recorded hash
    calls = [e for e in stored if type(e).__name__ == "ModelCallMade"]
    assert len(done.stdout.splitlines()) == len(calls) >= 2
    for line, call in zip(done.stdout.splitlines(), calls, strict=True):
        assert line.startswith(f"v{call.originator_version} call {call.call_id} ") and ": match (" in line
    # When it exports the transcript as Markdown, I expect the timeline with the visitor's words
    done = run_cli("audit", "export", cid, "--format", "md", env=env)
    assert done.stdout.startswith(f"# Conversation {cid}\n") and "How do I reset my password?" in done.stdout
    assert "rebuilt, hash matches" in done.stdout
    # When it exports it as a PDF to a file, I expect the same transcript in it
    out = tmp_path / "transcript.pdf"
    run_cli("audit", "export", cid, "--format", "pdf", "--output", str(out), env=env)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert f"Conversation {cid}" in text and "How do I reset my password?" in text and "rebuilt, hash matches" in text
    # When it exports the workspace's conversations of the day as JSON Lines
    container.wait_for_projections()
    day = stored[0].timestamp.date()
    done = run_cli(
        "audit", "export", "--workspace", str(workspace.workspace_id), "--from", day.isoformat(),
        "--to", (day + timedelta(days=1)).isoformat(), env=env,
    )  # fmt: skip
    # I expect the conversation's record with its verified chain, then its events
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["record"] == "conversation" and lines[0]["conversation_id"] == cid and lines[0]["chain"]["ok"]
    assert [line["version"] for line in lines[1:]] == [e.originator_version for e in stored]


def stored_accesses(container: Container) -> list[AuditAccess]:
    """Every AuditAccess in the store, oldest first."""
    topic = f"{AuditAccess.__module__}:{AuditAccess.__qualname__}.Recorded"
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute(
            f"SELECT originator_id FROM {container.app.name.lower()}_events WHERE topic = %s ORDER BY notification_id",
            (topic,),
        ).fetchall()
    found = [container.app.repository.get(row[0]) for row in rows]
    return [a for a in found if isinstance(a, AuditAccess)]


def test_the_cli_refuses_an_unknown_conversation(settings: Settings) -> None:
    env = cli_env(DATABASE_URL=str(settings.database_url), REDIS_URL=str(settings.redis_url))
    unknown = str(uuid.uuid4())
    done = subprocess.run(
        [sys.executable, "-m", "chatassist.cli", "audit", "replay", unknown],
        cwd=data_root(), env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert f"No conversation with id {unknown}. (conversation_not_found)" in done.stderr


def test_the_cli_verifies_the_chain_and_names_a_tampered_row(service_urls: tuple[str, str]) -> None:
    # Given a store with a workspace made through the CLI (its events chained by the append)
    with throwaway_database(service_urls[0]) as url:
        env = cli_env(DATABASE_URL=url, REDIS_URL=service_urls[1])
        run_cli("workspaces", "create", "Chained Co", "--json", env=env)
        # When the chain is verified, I expect every event chained and nothing broken
        done = run_cli("audit", "verify", env=env)
        assert re.search(r"(\d+) events: \1 chained, 0 before the chain, 0 broken", done.stderr), done.stderr
        # When a stored event is edited in PostgreSQL
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT originator_id, originator_version, notification_id FROM chatassist_events"
                " ORDER BY notification_id LIMIT 1"
            ).fetchone()
            assert row is not None
            conn.execute(
                "UPDATE chatassist_events SET state = state || ' '::bytea WHERE notification_id = %s", (row[2],)
            )
        failed = subprocess.run(
            [sys.executable, "-m", "chatassist.cli", "audit", "verify"],
            cwd=data_root(), env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        # I expect exit status 1 naming the stream, version and position
        assert failed.returncode == 1
        assert f"broken: edited in stream {row[0]} at version {row[1]} (position {row[2]})" in failed.stdout


def test_the_cli_anchors_a_workspace_and_verify_names_a_stream_cut_back_below_its_anchor(
    service_urls: tuple[str, str],
) -> None:
    # Given a workspace made through the CLI, anchored on demand
    with throwaway_database(service_urls[0]) as url:
        env = cli_env(DATABASE_URL=url, REDIS_URL=service_urls[1])
        workspace_id = json.loads(run_cli("workspaces", "create", "Anchored Co", "--json", env=env).stdout)[
            "workspace_id"
        ]
        done = run_cli("audit", "anchor", "--workspace", workspace_id, env=env)
        assert done.stdout.startswith(f"workspace {workspace_id}: anchored ") and " digest " in done.stdout
        # When its chains are verified against the anchor, I expect nothing broken and nothing differing
        done = run_cli("audit", "verify", "--workspace", workspace_id, env=env)
        assert re.search(r"(\d+) events: \1 chained, 0 before the chain, 0 broken", done.stderr), done.stderr
        assert re.search(
            r"anchor: \d+ streams as of position \d+ \(1 anchors\), digest [0-9a-f]{64}: 0 differ", done.stdout
        )
        # When the workspace stream's last event is deleted with its hash (the chain alone cannot tell)
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT max(originator_version) FROM chatassist_events WHERE originator_id = %s", (workspace_id,)
            ).fetchone()
            assert row is not None and row[0] >= 1
            for table in ("chatassist_events", "chatassist_events_chain"):
                conn.execute(
                    f"DELETE FROM {table} WHERE originator_id = %s AND originator_version = %s", (workspace_id, row[0])
                )
        failed = subprocess.run(
            [sys.executable, "-m", "chatassist.cli", "audit", "verify", "--workspace", workspace_id],
            cwd=data_root(), env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        # I expect exit status 1, the chain itself unbroken, and the anchor naming the stream cut back
        assert failed.returncode == 1 and " 0 broken" in failed.stderr
        assert f"anchor: truncated in stream {workspace_id} at version {row[0]}" in failed.stdout
