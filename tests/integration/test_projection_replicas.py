"""Several replicas of a projection runner: one applies at a time, none applies an event twice, a standby takes over
when the active one dies; an event a projection cannot handle parks its workspace (here: its aggregate, of no
workspace) for that view, recorded and logged, and the others' events go on."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic
from psycopg.rows import dict_row

from chatassist.bootstrap import SMALL_POOL, Container, bootstrap
from chatassist.projection_runner import PagedRunner
from chatassist.settings import Settings
from domain.conversation import Conversation, ModelCall
from projections._parking import parked as parked_of
from projections.analytics.projection import AnalyticsProjection, AnalyticsView
from projections.usage.projection import UsageProjection, UsageView
from tests.conftest import data_root
from tests.support.runner_locks import lock_holders
from tests.support.services import throwaway_database


def poll(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``condition()`` holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def own(service_urls: tuple[str, str], settings: Settings) -> Iterator[Container]:
    """A container on its own throwaway database, with no projection running (and a small pool)."""
    with throwaway_database(service_urls[0]) as url:
        c = bootstrap(replace(settings, database_url=url, db_pool_size=1))
        try:
            yield c
        finally:
            c.close()


def model_calls(container: Container, workspace_id: uuid.UUID, n: int, tokens: int = 100) -> None:
    """``n`` conversations of one turn, each with one model call of ``tokens`` input tokens, saved together."""
    conversations = []
    for i in range(n):
        c = Conversation(workspace_id, "widget", {"user_id": f"v{i}"})
        c.receive(f"m{i}", "Where is my order?")
        call = ModelCall(f"c{i}", "anthropic", "claude-sonnet-4-6", 1, 1, tokens, 10, 0, 0, 200.0, 900.0,
                         Decimal("0.001"), "ok")  # fmt: skip
        c.record_model_call(f"m{i}", call)
        conversations.append(c)
    container.app.save(*conversations)


@pytest.fixture
def probe(own: Container) -> Iterator[psycopg.Connection[Any]]:
    """One connection for the test's own queries (the server's connection slots are shared)."""
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        yield conn


def usage_of(conn: psycopg.Connection[Any], workspace_id: uuid.UUID) -> tuple[int, int] | None:
    """(calls, input tokens) of the workspace this month, from the usage view."""
    row = conn.execute(
        "SELECT calls, input_tokens FROM usage_v1_monthly WHERE workspace_id = %s", (workspace_id,)
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def runner(container: Container, projection: Any = UsageProjection, view: Any = UsageView) -> PagedRunner:
    """A replica of ``projection`` that polls for the lock often (quick takeover in tests)."""
    env = {**container.es_env, **SMALL_POOL}
    return PagedRunner(projection, view, env, standby_poll_s=0.05).start()


def test_two_replicas_apply_each_event_once_and_the_standby_takes_over(
    own: Container, probe: psycopg.Connection[Any]
) -> None:
    # Given two replicas of the usage projection running at once
    a, b = runner(own), runner(own)
    try:
        poll(lambda: a.active.is_set() or b.active.is_set())
        # When 40 model calls of 100 input tokens are written in 8 commits while both run
        ws = uuid.uuid4()
        for _ in range(8):
            model_calls(own, ws, 5)
        a.wait(own.last_position(UsageProjection.topics), timeout=10)
        # I expect exactly one replica active and every call counted once
        assert [a.active.is_set(), b.active.is_set()].count(True) == 1
        assert usage_of(probe, ws) == (40, 4000)
        # When the active replica stops and 10 more calls are written
        active, standby = (a, b) if a.active.is_set() else (b, a)
        active.stop()
        model_calls(own, ws, 10)
        # I expect the standby to take over and continue from where the other stopped, counting each call once
        poll(standby.active.is_set)
        standby.wait(own.last_position(UsageProjection.topics), timeout=10)
        assert usage_of(probe, ws) == (50, 5000)
        assert standby.error is None and active.error is None
    finally:
        a.stop()
        b.stop()


class CommitFailsOnce(UsageView):
    """The usage view, whose first page fails in its last round trip: the tracking row and the COMMIT."""

    failures: ClassVar[list[int]] = []

    def record_position(self, curs: psycopg.Cursor[Any], tracking: Any, *, pipelined: bool = False) -> None:
        super().record_position(curs, tracking, pipelined=pipelined)
        if not CommitFailsOnce.failures:
            CommitFailsOnce.failures.append(tracking.notification_id)
            curs.execute("SELECT 1 / 0")  # refused by the server only when the pipeline of the COMMIT is synced


def test_a_page_refused_with_its_commit_writes_nothing_and_the_runner_goes_on(
    own: Container, probe: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Given 12 model calls of 100 input tokens in the store, and a runner whose first page fails at its commit
    ws = uuid.uuid4()
    model_calls(own, ws, 12)
    caplog.set_level(logging.WARNING, logger="chatassist.projections")
    r = runner(own, UsageProjection, CommitFailsOnce)
    try:
        # When it runs
        r.wait(own.last_position(UsageProjection.topics), timeout=10)
        # I expect the failed page logged and rolled back (the connection usable again: no "current transaction is
        # aborted"), then applied event by event, each call counted once
        assert CommitFailsOnce.failures and any("a page of" in m and "DivisionByZero" in m for m in caplog.messages)
        assert r.error is None
        assert usage_of(probe, ws) == (12, 1200)
    finally:
        r.stop()


def test_the_tracking_row_sent_with_the_commit_moves_only_forward(own: Container) -> None:
    # Given a usage view (its tables made) and the app's name
    r = PagedRunner(UsageProjection, UsageView, {**own.es_env, **SMALL_POOL})
    try:
        name = own.app.name
        with psycopg.connect(own.database_url, autocommit=True, row_factory=dict_row) as conn:

            def record(position: int) -> None:
                with conn.pipeline(), conn.transaction(), conn.cursor() as curs:
                    r.view.record_position(curs, Tracking(name, position), pipelined=True)

            # When positions 5 then 7 are recorded, I expect 7 tracked
            record(5)
            record(7)
            assert r.view.max_tracking_id(name) == 7
            # and a position that does not move forward refused by the server, naming both, and nothing changed
            for stale in (7, 3):
                with pytest.raises(psycopg.DataError, match=f"tracking position 7 is not before {stale}"):
                    record(stale)
            assert r.view.max_tracking_id(name) == 7
    finally:
        r.stop()


def active_pid(conn: psycopg.Connection[Any]) -> int | None:
    """The process id (from its session's application_name) of the replica holding usage_v1's runner lock."""
    return lock_holders(conn, [UsageProjection.name]).get(UsageProjection.name)


def test_killing_the_active_runner_process_lets_the_standby_continue(
    own: Container, probe: psycopg.Connection[Any], tmp_path: Path
) -> None:
    # Given two `chatassist projections run usage` processes on the same database
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=own.database_url, REDIS_URL=own.redis_url, CHATASSIST_DB_POOL_SIZE="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chatassist.cli", "projections", "run", "usage"],
            cwd=data_root(),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"runner-{i}.log").open("w"),
        )
        for i in range(2)
    ]

    def one_active() -> bool:
        for i, p in enumerate(procs):
            assert p.poll() is None, (tmp_path / f"runner-{i}.log").read_text()
        return active_pid(probe) in {p.pid for p in procs}

    try:
        poll(one_active, timeout=120)
        ws = uuid.uuid4()
        model_calls(own, ws, 20)
        poll(lambda: usage_of(probe, ws) == (20, 2000))
        # When the active one is killed (SIGKILL: no clean shutdown) and 20 more calls are written
        killed = next(p for p in procs if p.pid == active_pid(probe))
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        model_calls(own, ws, 20)
        # I expect the other process to take the lock and apply them, each once
        survivor = next(p for p in procs if p is not killed)
        log = tmp_path / f"runner-{procs.index(survivor)}.log"

        def took_over() -> bool:
            assert survivor.poll() is None, log.read_text()
            return active_pid(probe) == survivor.pid

        poll(took_over, timeout=60)
        poll(lambda: usage_of(probe, ws) == (40, 4000), timeout=60)
        time.sleep(0.3)
        assert usage_of(probe, ws) == (40, 4000) and survivor.poll() is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                p.wait(15)


class Probe(Aggregate):
    """An aggregate of this test only: no projection has a handler for its event."""

    @event("Poked")
    def poke(self) -> None:
        pass


class StrictView(AnalyticsView):
    """The analytics tables under a scratch prefix, so this test writes nowhere else."""

    prefix: ClassVar[str] = "strict_v1"


class StrictProjection(AnalyticsProjection):
    """Analytics also subscribed to Probe.Poked, which it has no handler for (an event it cannot handle)."""

    name = "strict_v1"
    topics: ClassVar[tuple[str, ...]] = (*AnalyticsProjection.topics, get_topic(Probe.Poked))


def test_an_event_the_projection_cannot_handle_parks_its_aggregate_and_the_others_go_on(
    own: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        live = AnalyticsView.prefix
        for (table,) in conn.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s AND relname NOT LIKE '%%tracking'",
            (live.replace("_", r"\_") + r"\_%",),
        ).fetchall():
            conn.execute(f"CREATE TABLE strict_v1{table[len(live) :]} (LIKE {table} INCLUDING ALL)".encode())
    # Given a conversation with a visitor message, then an event the projection cannot handle (of an aggregate of
    # no workspace), then a conversation with a model call
    ws = uuid.uuid4()
    c = Conversation(ws, "widget", {"user_id": "v1"})
    c.receive("m1", "Where is my order?")
    own.app.save(c)
    probe = Probe()
    probe.poke()
    own.app.save(probe)
    model_calls(own, ws, 1)
    poked = own.last_position((get_topic(Probe.Poked),))
    assert poked is not None
    # When the projection runs
    caplog.set_level(logging.ERROR, logger="chatassist.projections")
    r = runner(own, StrictProjection, StrictView)
    try:
        r.wait(own.last_position(StrictProjection.topics), timeout=10)
        # I expect it not stopped: the event's scope (its aggregate, which belongs to no workspace) parked for
        # this view, with the event, its position and the error recorded, and logged once as an error
        assert r.error is None
        with psycopg.connect(own.database_url) as conn:
            [parked] = [p.to_dict() for p in parked_of(conn, "strict_v1")]
        assert (parked["workspace"], parked["event"]) == (str(probe.id), f"Probe.Poked at position {poked}")
        assert parked["error"] and parked["skipped"] == 0
        assert [m for m in caplog.messages if f"Probe.Poked at position {poked}" in m and "parked" in m] != []
    finally:
        r.stop()
    # and every other event applied: both conversations, each once
    assert strict_rows(own) == [1, 1]
    # When it is started again, nothing is applied twice and the workspace stays parked
    again = runner(own, StrictProjection, StrictView)
    try:
        again.wait(own.last_position(StrictProjection.topics), timeout=10)
        assert again.error is None
    finally:
        again.stop()
    assert strict_rows(own) == [1, 1]
    with psycopg.connect(own.database_url) as conn:
        assert [p.scope for p in parked_of(conn, "strict_v1")] == [probe.id]


def strict_rows(container: Container) -> list[int]:
    """The turns of every conversation in the scratch analytics table."""
    with psycopg.connect(container.database_url) as conn:
        return [int(r[0]) for r in conn.execute("SELECT turns FROM strict_v1_conversations ORDER BY started_at")]
