"""Durability across restarts, the CLI as a subprocess, encryption at rest, the worker and the scheduler."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import psycopg
import pytest
from dramatiq.common import dq_name
from eventsourcing.cipher import AESCipher

from chatassist.bootstrap import Container, bootstrap
from chatassist.settings import Settings
from commands._common import workspace_for_key
from commands.ai import models
from commands.ai.models import deprecation_of
from commands.close_conversation import cmd as close_cmd
from commands.create_workspace import cmd as create_ws
from commands.create_workspace.cmd import WorkspaceCreated
from commands.receive_message import cmd as receive
from domain.conversation import CLOSED, Conversation, Turn
from domain.workspace import Workspace
from read_api.get_transcript.query import get_transcript
from tests.conftest import chat, data_root, event_names
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.services import throwaway_database
from workers import runtime
from workers.broker import setup_broker
from workers.scheduler import Leadership, close_idle_job, idle_conversation_ids

ANTHROPIC_KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz7f3a"
OPENAI_KEY = "sk-proj-0123456789abcdefghijklmnopqrstuv9c1d"
DB_PASSWORD = "hunter2-db-secret"


def poll(condition: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> None:
    """Wait until ``condition()`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def new_conversation(container: Container, workspace: WorkspaceCreated, text: str = "Hello") -> uuid.UUID:
    """A conversation with one visitor message, written through the command (no model call)."""
    got = receive.execute(
        container.app,
        receive.ReceiveMessage(workspace.workspace_id, None, receive.EndUser("visitor-1"), text),
    )
    return got.conversation_id


def conversation(container: Container, conversation_id: uuid.UUID | str) -> Conversation:
    """Load the aggregate from the event store."""
    aggregate = container.app.repository.get(uuid.UUID(str(conversation_id)))
    assert isinstance(aggregate, Conversation)
    return aggregate


# (a) durability across a restart


def test_a_conversation_survives_process_restarts(
    client: httpx.Client,
    workspace: WorkspaceCreated,
    container: Container,
    settings: Settings,
    fake_llm: FakeLLMServer,
) -> None:
    # Given a conversation of two turns written by the running process
    fake_llm.enqueue("anthropic", Script(text="First answer."), Script(text="Second answer."))
    conversation_id = chat(client, workspace.widget_key, "First question")[0][1]["conversation_id"]
    chat(client, workspace.widget_key, "Second question", conversation_id=conversation_id)
    expected = [
        Turn("user", "First question"),
        Turn("assistant", "First answer."),
        Turn("user", "Second question"),
        Turn("assistant", "Second answer."),
    ]
    assert conversation(container, conversation_id).turns == expected

    # When a second process starts on the same database, adds a message and shuts down
    second = bootstrap(settings)
    try:
        assert conversation(second, conversation_id).turns == expected
        receive.execute(
            second.app,
            receive.ReceiveMessage(
                workspace.workspace_id,
                uuid.UUID(conversation_id),
                receive.EndUser("visitor-1"),
                "Third question",
            ),
        )
    finally:
        second.close()
    expected.append(Turn("user", "Third question"))

    # I expect a third process to load the conversation with every turn, in order
    third = bootstrap(settings)
    try:
        loaded = conversation(third, conversation_id)
        assert loaded.turns == expected and loaded.workspace_id == workspace.workspace_id
        assert loaded.end_user_id == "visitor-1" and loaded.status == "open"
        # and the first process sees the other process's write too
        assert conversation(container, conversation_id).turns == expected
        # and the transcript view, kept by the running projections, serves it to the new process
        container.wait_for_projections()
        transcript = get_transcript(third.transcripts, workspace.workspace_id, uuid.UUID(conversation_id))
        assert transcript is not None
        assert [(m.role, m.text) for m in transcript.messages] == [(t.role, t.text) for t in expected]
        assert transcript.turns == 3
    finally:
        third.close()


# (b) the CLI as a subprocess


def cli_env(**extra: str) -> dict[str, str]:
    """The process environment without any ChatAssist or provider setting, plus ``extra``."""
    names = ("CHATASSIST_", "ANTHROPIC_", "OPENAI_", "DATABASE_URL", "REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return {**env, **extra}


def run_cli(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m chatassist.cli ...`` from the repository root; asserts exit status 0."""
    done = subprocess.run(
        [sys.executable, "-m", "chatassist.cli", *args],
        cwd=data_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done


def test_cli_creates_a_workspace_and_prints_it_as_json(settings: Settings, container: Container) -> None:
    assert settings.database_url and settings.redis_url
    # When the CLI creates a workspace
    done = run_cli(
        "workspaces",
        "create",
        "Acme Inc",
        "--json",
        env=cli_env(DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url),
    )
    # I expect exactly one JSON object on stdout (logs go to stderr)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert result["name"] == "Acme Inc" and result["widget_key"].startswith("wk_")
    workspace_id = uuid.UUID(result["workspace_id"])
    # and the workspace to be in the store, found by its widget key
    stored = container.app.repository.get(workspace_id)
    assert isinstance(stored, Workspace) and stored.name == "Acme Inc"
    assert workspace_for_key(container.app, result["widget_key"]).id == workspace_id


def test_cli_config_masks_every_secret(tmp_path: Any) -> None:
    # Given secrets in the environment (config reads settings only; it connects to nothing)
    encryption_key = AESCipher.create_key(32)
    env = cli_env(
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
        OPENAI_API_KEY=OPENAI_KEY,
        CHATASSIST_EVENT_ENCRYPTION_KEY=encryption_key,
        DATABASE_URL=f"postgresql://app:{DB_PASSWORD}@db.example.com:5432/chatassist",
        REDIS_URL="redis://127.0.0.1:6379/0",
        CHATASSIST_DATA_DIR=str(tmp_path),
    )
    # When the effective configuration is printed
    done = run_cli("config", env=env)
    # I expect JSON in which no secret appears in full, on stdout or stderr
    for secret in (ANTHROPIC_KEY, OPENAI_KEY, encryption_key, DB_PASSWORD):
        assert secret not in done.stdout and secret not in done.stderr
    shown = json.loads(done.stdout)
    settings = shown["settings"]
    assert settings["anthropic_api_key (ANTHROPIC_API_KEY)"] == "sk-ant…7f3a"
    assert settings["openai_api_key (OPENAI_API_KEY)"] == "sk-pro…9c1d"
    assert settings["database_url (DATABASE_URL)"] == "postgresql://app:****@db.example.com:5432/chatassist"
    assert settings["event_encryption_key (CHATASSIST_EVENT_ENCRYPTION_KEY)"] == "****"
    assert shown["answering_with"] == "AI providers"
    # and the default models are not deprecated, so there is nothing to warn about
    assert shown["default_models"] == {"primary": "claude-sonnet-4-6", "fallback": "gpt-4o-mini"}
    assert shown["warnings"] == []


def test_the_deprecation_lookup_flags_sonnet_4_5_but_not_4_6() -> None:
    # config only checks the default models, so check the lookup it relies on directly
    date = deprecation_of("claude-sonnet-4-5")
    assert isinstance(date, str) and "2026" in date
    assert deprecation_of("claude-sonnet-4-6") is None
    assert deprecation_of("gpt-4o-mini") is None


def test_a_model_the_sdk_has_dropped_is_still_flagged_and_one_it_adds_is_flagged_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given an SDK release whose table no longer lists sonnet 4.5 (2.15 dropped it) but lists a newer retirement
    table = tmp_path / "anthropic" / "_data" / "deprecated_models.py"
    table.parent.mkdir(parents=True)
    table.write_text(
        'from typing import Dict\n\nDEPRECATED_MODELS: Dict[str, str] = {"claude-haiku-9": "March 1st, 2031"}\n'
    )
    monkeypatch.setattr(models, "sdk_root", lambda: tmp_path / "anthropic")
    models.sdk_table.cache_clear()
    try:
        # I expect both flagged: the dropped one from our table, the new one from the SDK's
        assert deprecation_of("claude-sonnet-4-5") == "November 30th, 2026"
        assert deprecation_of("claude-haiku-9") == "March 1st, 2031"
        assert deprecation_of("claude-sonnet-4-6") is None
    finally:
        models.sdk_table.cache_clear()


def test_the_sdks_table_is_read_from_its_source_as_the_sdk_itself_holds_it() -> None:
    # Given the installed SDK, read without importing it (a web process does not load the SDK for this lookup)
    models.sdk_table.cache_clear()
    read = models.sdk_table()
    # I expect exactly the table the imported SDK holds
    from anthropic._data import DEPRECATED_MODELS

    assert read == dict(DEPRECATED_MODELS) and read


# (c) encryption at rest


@pytest.fixture
def encrypted(service_urls: tuple[str, str], settings: Settings) -> Iterator[Container]:
    """A container with an event cipher, on its own throwaway database."""
    with throwaway_database(service_urls[0]) as url:
        c = bootstrap(replace(settings, database_url=url, event_encryption_key=AESCipher.create_key(32)))
        try:
            yield c
        finally:
            c.close()


def raw_states(database_url: str) -> list[bytes]:
    """The ``state`` column of every stored event, as bytes."""
    with psycopg.connect(database_url) as conn:
        return [bytes(row[0]) for row in conn.execute("SELECT state FROM chatassist_events").fetchall()]


def test_events_are_encrypted_at_rest(encrypted: Container, container: Container, workspace: WorkspaceCreated) -> None:
    secret = "my secret plan zebra-42"
    # Given a workspace in the encrypted store
    ws = create_ws.execute(encrypted.app, create_ws.CreateWorkspace("Cipher Inc"))
    # When a visitor message is stored
    got = receive.execute(
        encrypted.app, receive.ReceiveMessage(ws.workspace_id, None, receive.EndUser("visitor-zebra"), secret)
    )
    # I expect no stored event to contain it (nor the visitor id, nor the workspace name)
    states = raw_states(encrypted.database_url)
    assert len(states) >= 4
    for needle in (b"zebra-42", b"visitor-zebra", b"Cipher Inc"):
        assert not any(needle in state for state in states), needle
    # while the application reads it back
    assert conversation(encrypted, got.conversation_id).turns == [Turn("user", secret)]
    # and, as a control, the unencrypted session store does show plaintext for the same kind of write outside the
    # personal fields (those are sealed per conversation in every store since issue 17: ADR 0044)
    create_ws.execute(container.app, create_ws.CreateWorkspace("Plain zebra-42 Inc"))
    assert any(b"zebra-42" in state for state in raw_states(container.database_url))
    plain = new_conversation(container, workspace, secret)
    assert conversation(container, plain).turns == [Turn("user", secret)]


# (d) the Dramatiq worker and the scheduler


@pytest.fixture
def broker(container: Container) -> Iterator[Any]:
    """A Redis broker under a namespace of its own, set as the global broker, flushed afterwards."""
    broker = setup_broker(container.redis_url, namespace=f"chatassist-test-{uuid.uuid4().hex[:8]}")
    try:
        yield broker
    finally:
        broker.flush_all()
        broker.close()


def test_the_worker_closes_an_idle_conversation_once(
    broker: Any, container: Container, workspace: WorkspaceCreated
) -> None:
    # Given a worker on the test broker, with the actors registered on it
    runtime.set_app(container.app)
    import workers.actors as actors

    if actors.close_idle_conversation.broker is not broker:  # imported earlier under another broker
        actors = importlib.reload(actors)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        conversation_id = new_conversation(container, workspace)
        # When the close is enqueued twice (the scheduler may send it again before the first runs)
        actors.close_idle_conversation.send(str(conversation_id))
        actors.close_idle_conversation.send(str(conversation_id))
        # I expect the conversation to be closed
        poll(lambda: conversation(container, conversation_id).status == CLOSED)
        # and, once both messages are done, exactly one Closed event
        broker.join(actors.close_idle_conversation.queue_name, timeout=10_000)
        worker.join()
        assert Counter(event_names(container, conversation_id))["Closed"] == 1
        assert list(container.app.events.get(conversation_id))[-1].reason == "idle_timeout"
        # and a message for an unknown conversation is consumed without a retry being scheduled
        actors.close_idle_conversation.send(str(uuid.uuid4()))
        broker.join(actors.close_idle_conversation.queue_name, timeout=10_000)
        worker.join()
        assert broker.do_qsize(dq_name(actors.close_idle_conversation.queue_name)) == 0
    finally:
        worker.stop()


def test_idle_conversations_are_the_open_ones(container: Container, workspace: WorkspaceCreated) -> None:
    # Given an open conversation and a closed one
    open_id = new_conversation(container, workspace)
    closed_id = new_conversation(container, workspace)
    close_cmd.execute(container.app, close_cmd.CloseConversation(closed_id, "idle_timeout"))
    container.wait_for_projections()
    # When the job looks for conversations idle for 0 minutes (anything older than now)
    idle = idle_conversation_ids(container.transcripts, 0, limit=100_000)
    # I expect the open one and not the closed one
    assert str(open_id) in idle and str(closed_id) not in idle


def test_exactly_one_scheduler_leads(container: Container) -> None:
    # Given two schedulers on the same database
    first, second = Leadership(container.database_url), Leadership(container.database_url)
    try:
        # When both try to lead
        votes = [first.is_leader(), second.is_leader()]
        # I expect exactly one leader, and asking again changes nothing
        assert sorted(votes) == [False, True]
        assert [first.is_leader(), second.is_leader()] == votes
        leader, follower = (first, second) if votes[0] else (second, first)
        # and only the leader's job enqueues anything
        sent: list[str] = []
        assert close_idle_job(container.transcripts, 0, sent.append, follower) == 0 and sent == []
        # When the leader gives up
        leader.release()
        # I expect the other to take over, and the old leader to be refused
        assert follower.is_leader() is True
        assert leader.is_leader() is False
    finally:
        first.release()
        second.release()
