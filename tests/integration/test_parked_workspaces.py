"""Events the views cannot store as they are, written below the web layer (an older release let them in):

- a text with a NUL is applied by every view, the character replaced (a store that holds one recovers by itself);
- an event a view genuinely cannot apply parks its workspace for that view: the other workspaces' events go on,
  the parked one is visible (status, ``parked``, /ready's check) and logged, and ``chatassist projections retry``
  re-applies its events, each once, after a fix.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from chatassist.bootstrap import PROJECTIONS, Container, bootstrap
from chatassist.cli import ready_checks
from chatassist.projection_status import all_statuses
from chatassist.settings import Settings
from commands.create_workspace import cmd as create_ws
from domain.conversation import Conversation, ModelCall
from domain.text import REPLACEMENT
from tests.conftest import data_root
from tests.support.server import ThreadedServer
from tests.support.services import throwaway_database
from web.app import create_app

NUL = "\x00"
TOO_MANY = 2**63  # one more than a bigint holds: the usage view's column cannot store the sum


@pytest.fixture
def own(service_urls: tuple[str, str], settings: Settings) -> Iterator[Container]:
    """A container on its own throwaway database, every projection running."""
    with throwaway_database(service_urls[0]) as url:
        c = bootstrap(replace(settings, database_url=url, db_pool_size=1))
        try:
            yield c
        finally:
            c.close()


def poll(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


def rows(container: Container, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query of the test's own."""
    with psycopg.connect(container.database_url) as conn:
        return conn.execute(query.encode(), params).fetchall()


def call(conversation: Conversation, reply_to: str, input_tokens: int) -> None:
    """Record one model call of ``input_tokens`` input tokens on ``conversation``."""
    conversation.record_model_call(
        reply_to,
        ModelCall(f"c-{uuid.uuid4().hex[:6]}", "anthropic", "claude-sonnet-4-6", 1, 1, input_tokens, 10, 0, 0,
                  200.0, 900.0, Decimal("0.001"), "ok"),
    )  # fmt: skip


def usage(container: Container, workspace_id: uuid.UUID) -> tuple[int, int] | None:
    """(calls, input tokens) of the workspace this month, from the usage view."""
    found = rows(container, "SELECT calls, input_tokens FROM usage_v1_monthly WHERE workspace_id = %s", workspace_id)
    return None if not found else (int(found[0][0]), int(found[0][1]))


def test_texts_with_a_nul_written_below_the_web_are_applied_by_every_view_the_character_replaced(
    own: Container, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a workspace whose name holds a NUL, and a conversation whose visitor id, name, message, model call,
    # agent reply and note hold NULs, all written through the command layer (no web check on the way)
    caplog.set_level(logging.WARNING, logger="chatassist.projections")
    created = create_ws.execute(own.app, create_ws.CreateWorkspace(f"Acme{NUL}Corp"))
    ws = created.workspace_id
    c = Conversation(ws, "widget", {"user_id": f"v{NUL}1", "name": f"Ann{NUL}"})
    c.receive("m1", f"hi {NUL} x")
    call(c, "m1", 100)
    c.claim("agent-1")
    c.agent_reply("agent-1", "a1", f"hello{NUL}", agent_name=f"Bo{NUL}b")
    c.add_note("agent-1", "n1", f"note {NUL}")
    own.app.save(c)
    # When every projection runs
    own.start_projections()
    own.wait_for_projections(timeout=30)
    # I expect every view at the head, nothing parked, no runner stopped, and the texts stored with U+FFFD
    assert [r.error for r in own.runners] == [None] * len(PROJECTIONS)
    statuses = all_statuses(own)
    assert [(s.lag_events, s.parked) for s in statuses] == [(0, [])] * len(PROJECTIONS)
    r = REPLACEMENT
    assert rows(own, "SELECT end_user_id, end_user_name FROM transcript_v2_conversations WHERE id = %s", c.id) == [
        (f"v{r}1", f"Ann{r}")
    ]
    assert rows(
        own, "SELECT text, agent_name FROM transcript_v2_messages WHERE conversation_id = %s ORDER BY seq", c.id
    ) == [
        (f"hi {r} x", None),
        (f"hello{r}", f"Bo{r}b"),
    ]
    assert rows(own, "SELECT visitor_id FROM monitor_v1_conversations WHERE id = %s", c.id) == [(f"v{r}1",)]
    assert rows(own, "SELECT visitor_id, turns FROM analytics_v2_conversations WHERE id = %s", c.id) == [(f"v{r}1", 1)]
    assert usage(own, ws) == (1, 100)
    audited = rows(own, "SELECT kind FROM audit_v1_log WHERE workspace_id = %s ORDER BY position", ws)
    assert ("workspace.created",) in audited
    # and the pages that failed on them said so (a warning, then applied event by event: nothing skipped)
    assert any("a page of" in m and "applying them one by one" in m for m in caplog.messages)


def test_an_event_a_view_cannot_apply_parks_its_workspace_and_the_others_go_on_until_a_retry(
    own: Container, caplog: pytest.LogCaptureFixture
) -> None:
    # Given workspaces A and B, each with a conversation, running views
    caplog.set_level(logging.ERROR, logger="chatassist.projections")
    a, b = uuid.uuid4(), uuid.uuid4()
    ca, cb = Conversation(a, "widget", {"user_id": "va"}), Conversation(b, "widget", {"user_id": "vb"})
    for conv in (ca, cb):
        conv.receive("m1", "Where is my order?")
        call(conv, "m1", 100)
    own.app.save(ca, cb)
    own.start_projections()
    own.wait_for_projections(timeout=30)
    assert (usage(own, a), usage(own, b)) == ((1, 100), (1, 100))
    # When A records a model call of more tokens than the usage view's column holds (no web check on the way),
    # then A and B each record another call, and B starts a new conversation
    call(ca, "m1", TOO_MANY)
    own.app.save(ca)
    poisoned = own.app.recorder.max_notification_id()
    call(ca, "m1", 5)
    call(cb, "m1", 7)
    cb2 = Conversation(b, "widget", {"user_id": "vb2"})
    cb2.receive("m1", "And my invoice?")
    own.app.save(ca, cb, cb2)
    own.wait_for_projections(timeout=30)
    # I expect no runner stopped and every view at the head: B's views advanced past A's event
    assert [r.error for r in own.runners] == [None] * len(PROJECTIONS)
    assert usage(own, b) == (2, 107)
    assert rows(own, "SELECT count(*) FROM transcript_v2_conversations WHERE workspace_id = %s", b) == [(2,)]
    # and A parked for the usage view at that event, its later call skipped (counted), its row as it was
    assert usage(own, a) == (1, 100)
    usage_status = next(s for s in all_statuses(own) if s.name == "usage")
    assert usage_status.lag_events == 0
    [parked] = usage_status.parked
    assert (parked["workspace"], parked["event"]) == (str(a), f"Conversation.ModelCallMade at position {poisoned}")
    assert "out of range" in parked["error"] and parked["skipped"] == 1
    # (the analytics view sums the same tokens into a bigint too: parked there as well; the others are not)
    assert {s.name for s in all_statuses(own) if s.parked} == {"usage", "analytics"}
    # logged once as an error naming the workspace and the operator's command
    errors = [m for m in caplog.messages if "parked workspace" in m and "usage_v1" in m]
    assert len(errors) == 1 and f"chatassist projections retry usage_v1 {a}" in errors[0]
    # and /ready of a web process still ready (the other workspaces are served), with a notice naming it
    assert own.auth is not None
    server = ThreadedServer(create_app(own.chat, own.transcripts, ready_checks(own), auth=own.auth)).start()
    try:
        ready = httpx.get(f"{server.base_url}/ready", timeout=10)
    finally:
        server.stop()
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert f"usage_v1 ({a})" in ready.json()["notices"]["projections"]

    # When the operator lists the parked workspaces, and retries A before any fix
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=own.database_url, REDIS_URL=own.redis_url, CHATASSIST_DB_POOL_SIZE="1")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatassist.cli", "projections", *args],
            cwd=data_root(),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = cli("parked", "usage")
    assert listed.returncode == 0, listed.stderr
    assert [(p["projection"], p["workspace"]) for p in json.loads(listed.stdout)] == [("usage_v1", str(a))]
    failed = cli("retry", "usage", str(a))
    # I expect the retry refused, naming the event, nothing written, A still parked with the retry's time
    assert failed.returncode == 1 and "stays parked" in failed.stderr and "ModelCallMade" in failed.stderr
    assert usage(own, a) == (1, 100)
    [still] = next(s for s in all_statuses(own) if s.name == "usage").parked
    assert still["retried_at"] is not None

    # When the view is fixed (a column wide enough) and the operator retries A
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE usage_v1_monthly ALTER COLUMN input_tokens TYPE numeric")
    done = cli("retry", "usage", str(a))
    # I expect A's events from the parked one re-applied, each once, A unparked, B untouched
    assert done.returncode == 0, done.stderr
    assert "2 events re-applied" in done.stdout
    assert usage(own, a) == (3, 100 + TOO_MANY + 5)
    assert usage(own, b) == (2, 107)
    assert next(s for s in all_statuses(own) if s.name == "usage").parked == []
    # and A's next events applied by the runner as usual
    call(ca, "m1", 1)
    own.app.save(ca)
    own.wait_for_projections(timeout=30)
    assert usage(own, a) == (4, 101 + TOO_MANY + 5)
    # (a retry of a workspace that is not parked says so)
    again = cli("retry", "usage", str(a))
    assert again.returncode == 1 and "is not parked" in again.stderr


def test_a_rebuild_applies_the_texts_replaced_and_its_swap_unparks_the_views_it_rebuilt(own: Container) -> None:
    # Given two workspaces' conversations with NULs in their texts (so a rebuild's pages are shared out), A's
    # model call too large for the usage view, running views (A parked for usage and analytics)
    a, b = uuid.uuid4(), uuid.uuid4()
    conversations = []
    for ws in (a, b):
        conv = Conversation(ws, "widget", {"user_id": f"v{NUL}{ws.hex[:4]}"})
        conv.receive("m1", f"hi {NUL} x")
        call(conv, "m1", 100)
        conversations.append(conv)
    call(conversations[0], "m1", TOO_MANY)
    own.app.save(*conversations)
    own.start_projections()
    own.wait_for_projections(timeout=30)
    assert {s.name for s in all_statuses(own) if s.parked} == {"usage", "analytics"}
    live_messages = rows(own, "SELECT conversation_id, seq, text FROM transcript_v2_messages ORDER BY 1, 2")
    # When the usage view is fixed (a wide enough column, which its rebuilt copy takes too) and the usage and
    # transcript views are rebuilt and swapped in
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE usage_v1_monthly ALTER COLUMN input_tokens TYPE numeric")
    from chatassist.rebuild import rebuild_all

    rebuild_all(own, ["usage", "transcripts"], workers=2)
    own.wait_for_projections(timeout=30)
    # I expect the rebuilt transcripts to hold the texts replaced as the live view had them, A's usage complete,
    # usage unparked by the swap, and analytics (not rebuilt) still parked
    assert rows(own, "SELECT conversation_id, seq, text FROM transcript_v2_messages ORDER BY 1, 2") == live_messages
    assert {text for _, _, text in live_messages} == {f"hi {REPLACEMENT} x"}
    assert (usage(own, a), usage(own, b)) == ((2, 100 + TOO_MANY), (1, 100))
    assert {s.name for s in all_statuses(own) if s.parked} == {"analytics"}
    assert [r.error for r in own.runners] == [None] * len(PROJECTIONS)
