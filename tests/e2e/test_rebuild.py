"""`chatassist projections rebuild NAME`: every projection rebuilt into new tables gives the same rows as the
incremental run; the dashboards read the old tables during the rebuild and the new ones right after; the live
runner continues on the swapped tables from the rebuilt position; progress lines; an unknown NAME exits 2."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from chatassist.bootstrap import PROJECTIONS, Container
from chatassist.rebuild import HOLD_ROWS, RebuildRefused, rebuild
from commands.change_app_settings import cmd as change_settings
from commands.create_workspace import cmd as create_ws
from domain.app_settings import AppSettings
from domain.conversation import Conversation, ModelCall
from domain.escalation import Decision
from projections._fold import SMALL
from read_api.get_transcript.query import get_transcript
from tests.conftest import data_root


@pytest.fixture(scope="module")
def db(container: Container) -> Iterator[psycopg.Connection[Any]]:
    """One connection for the tests' own queries (the server's connection slots are shared)."""
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        yield conn


def live_tables(db: psycopg.Connection[Any], name: str) -> list[str]:
    """The live tables of projection ``name`` (its prefix, tracking table aside)."""
    projection_class, view_class = PROJECTIONS[name]
    rows = db.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s AND relname <> %s ORDER BY 1",
        (view_class.prefix.replace("_", r"\_") + r"\_%", f"{projection_class.name.lower()}_tracking"),
    ).fetchall()
    return [r[0] for r in rows]


def dump(db: psycopg.Connection[Any], tables: list[str]) -> dict[str, list[str]]:
    """Every row of every table as PostgreSQL's text of the row, sorted."""
    return {t: [r[0] for r in db.execute(f"SELECT t::text FROM {t} t ORDER BY 1".encode())] for t in tables}


def leftovers(db: psycopg.Connection[Any]) -> list[str]:
    """Tables a rebuild creates and must not leave behind."""
    rows = db.execute("SELECT relname FROM pg_class WHERE relname LIKE 'rb\\_%' OR relname LIKE 'old\\_%'")
    return [r[0] for r in rows]


def a_turn(container: Container, workspace_id: uuid.UUID, text: str) -> uuid.UUID:
    """A conversation of one answered turn with its model call, rated and closed."""
    c = Conversation(workspace_id, "widget", {"user_id": "visitor-rebuild"})
    c.receive("m1", text)
    call = ModelCall("c1", "anthropic", "claude-sonnet-4-6", 1, 1, 1200, 80, 0, 0, 210.0, 950.0,
                     Decimal("0.0048"), "ok")  # fmt: skip
    c.record_model_call("m1", call)
    c.reply("r1", "m1", "Here is how.", confidence=0.9, topic="billing", provider="anthropic",
            model="claude-sonnet-4-6", prompt_version=1)  # fmt: skip
    c.rate(5, None)
    c.close("idle")
    container.app.save(c)
    return c.id


def a_handoff(container: Container, workspace_id: uuid.UUID) -> None:
    """A conversation an agent claims, answers and hands back, then the AI answers again: events the folds apply
    and events only the SQL handlers apply, interleaved in one stream."""
    c = Conversation(workspace_id, "widget", {"user_id": "visitor-handoff"})
    c.receive("m1", "Can a person help me?")
    c.claim("agent-1")
    c.agent_reply("agent-1", "a1", "Hello, I am here.", agent_name="Sam")
    c.return_to_ai("agent-1")
    c.receive("m2", "And my invoice?")
    call = ModelCall("c2", "anthropic", "claude-sonnet-4-6", 1, 1, 700, 40, 0, 0, 180.0, 800.0,
                     Decimal("0.0027"), "ok")  # fmt: skip
    c.record_model_call("m2", call)
    c.reply("r2", "m2", "Under Billing.", confidence=0.8, topic="billing", provider="anthropic",
            model="claude-sonnet-4-6", prompt_version=1)  # fmt: skip
    container.app.save(c)


def a_call(call_id: str, provider: str, model: str, attempt: int, outcome: str, cost: str | None) -> ModelCall:
    """A model call; a successful one has its times (the first attempt's time to first token unknown)."""
    ok = outcome == "ok"
    ttft = (None if attempt == 1 else 123.4) if ok else None
    return ModelCall(call_id, provider, model, 1, attempt, 900, 60 if ok else 0, 512, 0, ttft, 777.7 if ok else 91.3,
                     None if cost is None else Decimal(cost), outcome)  # fmt: skip


def escalation(rule: str, action: str, topic: str) -> Decision:
    """A decision of the rules: escalate (a person takes over) or offer (a person offered beside the answer)."""
    return Decision(rule, 2, action, f"{rule} fired", {"matched": ["lawyer"]}, "Legal", "A person will answer.", topic)


def a_workout(container: Container, workspace_id: uuid.UUID) -> None:
    """Every event the analytics and monitor folds apply, each conversation saved in several commits so that its
    events span pages (of 7 events) and later pages change rows loaded by earlier ones: a fallback, a failed turn,
    costs finer than 8 decimal places (numeric(20, 8) rounds them), two visitor messages waiting at once and answered
    out of order, an offer, an escalation with its holding reply, escalated again while queued and while an agent
    holds the chat (two left so), a claim, a note, an agent reply, a topic change, a hand-back, resolved, reopened,
    rated twice and closed; settings of the budget, time zone and retention, settings that change none of them, and
    settings of a workspace with no row."""
    by = uuid.uuid4()
    a = Conversation(workspace_id, "widget", {"user_id": "visitor-workout"})
    a.receive("m1", "Where is my refund?")
    a.receive("m2", "Hello?")
    a.record_model_call("m2", a_call("w1", "anthropic", "claude-sonnet-4-6", 1, "fell_back", "0.000000015"))
    a.record_model_call("m2", a_call("w2", "openai", "gpt-4.1-mini", 2, "ok", "0.000000015"))
    a.reply("r2", "m2", "Hi!", confidence=0.1, topic="refunds", provider="openai", model="gpt-4.1-mini",
            prompt_version=1)  # fmt: skip
    a.record_model_call("m1", a_call("w3", "anthropic", "claude-sonnet-4-6", 1, "error", None))
    a.fail_turn("m1", "provider_unavailable", "every provider failed")
    a.offer_escalation("m2", escalation("low_confidence", "offer", "refunds"))
    container.app.save(a)
    b = Conversation(workspace_id, "widget", {"user_id": "visitor-legal"})
    b.receive("m1", "I will call my lawyer.")
    b.escalate("m1", escalation("legal", "escalate", "legal"))
    b.reply("h1", "m1", "A person will answer.", confidence=1.0, topic="legal", provider="escalation", model="rules",
            prompt_version=2)  # fmt: skip
    b.receive("m2", "Still there?")
    b.escalate("m2", escalation("human", "escalate", "legal"))
    container.app.save(b)
    settings = {"monthly_token_budget": 5000, "time_zone": "Europe/Paris", "analytics_retention_days": 30}
    for changes in (settings, {"widget_language": "de"}, {"max_history_turns": 4}, {"time_zone": "Asia/Kolkata"}):
        change_settings.execute(container.app, change_settings.ChangeSettings(workspace_id, by, changes))
    elsewhere = AppSettings(uuid.uuid4())  # the settings of a workspace the analytics have no row of
    elsewhere.change({"time_zone": "America/Chicago", "analytics_retention_days": 90}, by)
    container.app.save(elsewhere)
    b.claim("agent-1")
    b.add_note("agent-1", "n1", "Legal knows.")
    b.receive("m3", "Hello??")
    b.escalate("m3", escalation("legal", "escalate", "legal"))
    b.agent_reply("agent-1", "a1", "I am here.", agent_name="Sam")
    b.change_topic("contracts", by="agent-1")
    b.return_to_ai("agent-1")
    b.receive("m4", "Thanks. And my invoice?")
    b.record_model_call("m4", a_call("w4", "anthropic", "claude-sonnet-4-6", 1, "ok", "0.00312345678"))
    b.reply("r4", "m4", "Under Billing.", confidence=0.7, topic="billing", provider="anthropic",
            model="claude-sonnet-4-6", prompt_version=2)  # fmt: skip
    b.resolve("agent-1")
    container.app.save(b)
    a.rate(3, None)
    a.resolve("ai")
    a.receive("m3", "One more thing.")
    a.record_model_call("m3", a_call("w5", "anthropic", "claude-sonnet-4-6", 1, "ok", "0.000000025"))
    a.reply("r3", "m3", "Sure.", confidence=0.2, topic="refunds", provider="anthropic", model="claude-sonnet-4-6",
            prompt_version=2)  # fmt: skip
    a.rate(4, None)
    a.close("idle")
    b.close("agent", by="agent-1")
    # left open: escalated while an agent holds it, claimed (assigned) or answering (agent); it stays theirs
    held = [Conversation(workspace_id, "widget", {"user_id": f"visitor-held-{n}"}) for n in range(2)]
    for n, c in enumerate(held):
        c.receive("m1", "Hello?")
        c.claim("agent-2")
        if n:
            c.agent_reply("agent-2", "a1", "Hi, Sam here.", agent_name="Sam")
        c.receive("m2", "I will call my lawyer.")
        c.escalate("m2", escalation("legal", "escalate", "legal"))
    container.app.save(a, b, *held)


@pytest.fixture
def ws(container: Container) -> uuid.UUID:
    """A workspace with a finished conversation, a handed-off one and the workout (so every projection has rows and
    the folds meet every event they apply)."""
    workspace_id = create_ws.execute(container.app, create_ws.CreateWorkspace("Rebuild Inc")).workspace_id
    a_turn(container, workspace_id, "How do I pay?")
    a_handoff(container, workspace_id)
    a_workout(container, workspace_id)
    return workspace_id


# each projection; those with a fold (which the live runners use) also rebuilt through their SQL handlers alone,
# and with their rows written page by page (hold 0) and held until more than 5 are (then page by page)
FOLDED = [name for name, (projection_class, _) in PROJECTIONS.items() if hasattr(projection_class, "fold")]
CASES = [(name, True, HOLD_ROWS) for name in PROJECTIONS] + [
    (name, fold, hold) for name in FOLDED for fold, hold in ((False, HOLD_ROWS), (True, 0), (True, 5))
]


@pytest.mark.parametrize(("name", "fold", "hold"), CASES)
def test_a_rebuild_gives_the_same_rows_and_the_live_runner_continues_on_the_new_tables(
    name: str,
    fold: bool,
    hold: int,
    ws: uuid.UUID,
    container: Container,
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chatassist.projections")
    # Given the live projection caught up
    container.wait_for_projections()
    tables = live_tables(db, name)
    before = dump(db, tables)
    assert any(before.values()), f"{name} has no rows to rebuild"
    # When it is rebuilt into new tables, 7 events per transaction (many pages), while its live runner runs
    out = io.StringIO()
    result = rebuild(container, name, batch=7, stream=out, fold=fold, hold=hold)
    # I expect the swapped-in tables to hold exactly the rows of the incremental run, and nothing left behind
    assert dump(db, tables) == before
    assert result.tables == tables and result.events > 0 and leftovers(db) == []
    # and no page that failed and was applied again event by event (a fold out of step with its table would), nor
    # a pass started over
    assert not [m for m in caplog.messages if "applying them one by one" in m or "starting over" in m]
    # and the live tracking row at the rebuilt position
    live = next(r for r in container.runners if r.projection.name == PROJECTIONS[name][0].name)
    assert live.view.max_tracking_id(container.app.name) == result.position
    # and progress lines (not a terminal here) with position / max, events/s and the ETA, then a summary
    lines = out.getvalue().splitlines()
    assert f"rebuild {name}: position" in lines[0] and "events/s, ETA" in lines[0]
    assert lines[-1].startswith(f"rebuild {name}: {result.events:,} events in")
    # When more events are written after the swap
    conversation_id = a_turn(container, ws, "And after the rebuild?")
    create_ws.execute(container.app, create_ws.CreateWorkspace("After Rebuild Inc"))
    container.wait_for_projections()
    # I expect the live runner to have applied them to the new tables
    assert live.error is None
    assert live.view.max_tracking_id(container.app.name) == container.last_position(live.projection.topics)
    assert dump(db, tables) != before
    if name == "transcripts":
        transcript = get_transcript(container.transcripts, ws, conversation_id)
        assert transcript is not None and transcript.messages[0].text == "And after the rebuild?"


@pytest.mark.parametrize("name", FOLDED)
def test_a_rebuild_in_pages_of_many_rows_gives_the_same_rows(
    name: str, ws: uuid.UUID, container: Container, db: psycopg.Connection[Any]
) -> None:
    # Given more conversations than a fold writes with one INSERT ... VALUES (the rest go by COPY), the live
    # projection caught up
    for n in range(SMALL + 6):
        a_turn(container, ws, f"Question {n}")
    container.wait_for_projections()
    tables = live_tables(db, name)
    before = dump(db, tables)
    assert name == "usage" or max(len(rows) for rows in before.values()) > SMALL  # usage: a row per month
    # When it is rebuilt in pages of 5,000 events (the whole store of this test in one or a few pages)
    result = rebuild(container, name, batch=5000, stream=io.StringIO())
    # I expect the same rows as the incremental run
    assert dump(db, tables) == before and result.events > 0


def test_the_dashboards_read_the_old_tables_during_the_rebuild_and_the_new_ones_after(
    ws: uuid.UUID, container: Container, db: psycopg.Connection[Any]
) -> None:
    # Given the transcripts caught up, with N conversations
    container.wait_for_projections()
    count_sql = "SELECT count(*) AS n FROM transcript_v2_conversations"
    n = container.transcripts.query(count_sql)[0]["n"]
    # When a slow rebuild (one event per transaction) runs in the background
    errors: list[BaseException] = []

    def run() -> None:
        try:
            rebuild(container, "transcripts", batch=1, stream=io.StringIO())
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    seen, during = [], 0
    while worker.is_alive():
        # the web's own view (pooled, prepared statements) reads the live table meanwhile
        seen.append(container.transcripts.query(count_sql)[0]["n"])
        if leftovers(db):
            during += 1
    worker.join()
    # I expect every read during the rebuild to see all N conversations (never a half-built table)
    assert errors == [] and during > 0
    assert set(seen) == {n}
    # and the same reader to see the rebuilt table right after
    assert container.transcripts.query(count_sql)[0]["n"] == n and leftovers(db) == []


def test_a_second_rebuild_of_the_same_projection_is_refused_while_one_runs(container: Container) -> None:
    # Given a rebuild of usage holding its lock
    from chatassist.rebuild import Rebuild
    from projections._paging import lock_key

    holder = Rebuild(container, "usage")
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (lock_key("rebuild", holder.live_view),))
        # When another starts, I expect it refused with a clear message
        with pytest.raises(RebuildRefused, match="another rebuild of it is running"):
            rebuild(container, "usage")
    holder.live_view.datastore.close()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m chatassist.cli ...`` as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "chatassist.cli", *args],
        cwd=data_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(container: Container) -> dict[str, str]:
    """The environment of a CLI process on the test database (small pools: the server's slots are shared)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
    return {**env, "DATABASE_URL": container.database_url, "REDIS_URL": container.redis_url,
            "CHATASSIST_DB_POOL_SIZE": "1"}  # fmt: skip


def test_the_cli_refuses_an_unknown_projection_with_exit_code_2(cli_env: dict[str, str]) -> None:
    done = cli("projections", "rebuild", "nope", env=cli_env)
    assert done.returncode == 2
    assert "unknown projection 'nope'; known: transcripts, usage, analytics, audit" in done.stderr
    done = cli("projections", "rebuild", "usage", "--batch", "0", env=cli_env)
    assert done.returncode == 2 and "--batch: expected a whole number of at least 1" in done.stderr


def test_the_cli_rebuilds_with_progress_lines(
    ws: uuid.UUID, container: Container, cli_env: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    # Given usage caught up
    container.wait_for_projections()
    before = dump(db, ["usage_v1_monthly"])
    # When the command rebuilds it (not on a terminal)
    done = cli("projections", "rebuild", "usage", "--batch", "2", env=cli_env)
    # I expect success, plain progress lines and the summary, and the same rows
    assert done.returncode == 0, done.stderr
    assert "rebuild usage: position" in done.stderr and "\r" not in done.stderr
    assert "swapped at position" in done.stderr
    assert dump(db, ["usage_v1_monthly"]) == before
