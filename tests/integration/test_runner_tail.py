"""The runners of a process read new events once per notice for all of them (chatassist/runner_tail.py, ADR 0070),
apply each event once across a stop and a restart, and a woken runner folds the appends of the next moments into
one page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from chatassist import projection_runner
from chatassist.bootstrap import SMALL_POOL, Container, bootstrap
from chatassist.projection_runner import PagedRunner
from chatassist.runner_sessions import RunnerSessions
from chatassist.runner_tail import Tail
from chatassist.settings import Settings
from projections.analytics.projection import AnalyticsProjection, AnalyticsView
from projections.audit.projection import AuditProjection, AuditView
from projections.usage.projection import UsageProjection, UsageView
from tests.integration.test_projection_replicas import model_calls, poll, usage_of
from tests.support.services import throwaway_database


@pytest.fixture
def own(service_urls: tuple[str, str], settings: Settings) -> Iterator[Container]:
    """A container on its own throwaway database, with no projection running (and a small pool)."""
    with throwaway_database(service_urls[0]) as url:
        c = bootstrap(replace(settings, database_url=url, db_pool_size=1))
        try:
            yield c
        finally:
            c.close()


@pytest.fixture
def probe(own: Container) -> Iterator[psycopg.Connection[Any]]:
    """One connection for the test's own queries."""
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        yield conn


class Reads:
    """Counts the store reads of the runners: the tail's (one per notice at most) and the runners' own."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tail = self.own = 0
        tail_read, own_read = Tail._read, projection_runner.read_page

        def counted_tail(tail: Tail, conn: Any) -> None:
            self.tail += 1
            tail_read(tail, conn)

        def counted_own(*args: Any, **kwargs: Any) -> Any:
            self.own += 1
            return own_read(*args, **kwargs)

        monkeypatch.setattr(Tail, "_read", counted_tail)
        monkeypatch.setattr(projection_runner, "read_page", counted_own)


def runners(own: Container, sessions: RunnerSessions, **options: Any) -> list[PagedRunner]:
    """The usage, analytics and audit runners sharing ``sessions`` (no fallback tick during a test)."""
    env = {**own.es_env, **SMALL_POOL}
    views = [(UsageProjection, UsageView), (AnalyticsProjection, AnalyticsView), (AuditProjection, AuditView)]
    options = {"idle_wait_s": 60.0, **options}
    return [PagedRunner(p, v, env, sessions=sessions, standby_poll_s=0.05, **options).start() for p, v in views]


def test_three_runners_read_each_append_once_between_them(
    own: Container, probe: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the usage, analytics and audit runners of one process, caught up on a store of 5 model calls
    ws = uuid.uuid4()
    model_calls(own, ws, 5)
    reads = Reads(monkeypatch)
    sessions = RunnerSessions(own.app.recorder.datastore.pool.kwargs, poll_s=0.05)
    active = runners(own, sessions, coalesce_s=0.0)
    try:
        poll(lambda: all(r.active.is_set() for r in active))
        active[0].wait(own.last_position(UsageProjection.topics), timeout=10)
        active[1].wait(own.last_position(AnalyticsProjection.topics), timeout=10)
        tail_before = reads.tail
        # When 20 appends are made one at a time, each waited for by the two views it concerns
        for _ in range(20):
            model_calls(own, ws, 1)
            active[0].wait(own.last_position(UsageProjection.topics), timeout=10)
            active[1].wait(own.last_position(AnalyticsProjection.topics), timeout=10)
        # I expect each call counted once, at most two reads of its own per runner (its first, and one that takes
        # it to the tail's floor, at the first notice), and one shared read per append (three runners reading for
        # themselves make 60; the audit runner, with no event of its own, would make 20 of them for nothing)
        assert usage_of(probe, ws) == (25, 2500)
        assert reads.own <= 2 * len(active)
        assert reads.tail - tail_before <= 20 + 2  # a notice heard during a read makes one more
        assert all(r.error is None for r in active)
    finally:
        for r in active:
            r.stop()
        sessions.close()


def test_a_runner_stopped_and_restarted_beside_the_others_applies_each_event_once(
    own: Container, probe: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three runners sharing one tail that holds at most 4 events (older ones must be read from the store)
    monkeypatch.setattr(Tail, "__init__", _small_tail)
    ws = uuid.uuid4()
    sessions = RunnerSessions(own.app.recorder.datastore.pool.kwargs, poll_s=0.05)
    active = runners(own, sessions)
    try:
        poll(lambda: all(r.active.is_set() for r in active))
        for _ in range(6):
            model_calls(own, ws, 2)
        active[0].wait(own.last_position(UsageProjection.topics), timeout=10)
        # When the usage runner stops, 15 more appends are made (more than the tail keeps), and a new one starts
        active[0].stop()
        for _ in range(15):
            model_calls(own, ws, 1)
        env = {**own.es_env, **SMALL_POOL}
        active[0] = PagedRunner(UsageProjection, UsageView, env, sessions=sessions, idle_wait_s=60.0).start()
        active[0].wait(own.last_position(UsageProjection.topics), timeout=10)
        # Then I expect every call counted once, and more appends still reaching the view
        assert usage_of(probe, ws) == (27, 2700)
        for _ in range(3):
            model_calls(own, ws, 1)
        active[0].wait(own.last_position(UsageProjection.topics), timeout=10)
        assert usage_of(probe, ws) == (30, 3000)
        assert all(r.error is None for r in active)
    finally:
        for r in active:
            r.stop()
        sessions.close()


_real_init = Tail.__init__


def _small_tail(tail: Tail, table: str, **_: Any) -> None:
    """A tail that reads 3 events at a time and keeps 4."""
    _real_init(tail, table, read_limit=3, cap=4)


def test_a_woken_runner_folds_the_appends_of_its_wait_into_one_page(
    own: Container, probe: psycopg.Connection[Any]
) -> None:
    # Given a usage runner that, once woken, waits half a second for more appends, caught up on an empty store
    pages: list[int] = []
    env = {**own.es_env, **SMALL_POOL}
    r = PagedRunner(
        UsageProjection, UsageView, env, coalesce_s=0.5, idle_wait_s=60.0, after_page=lambda _c, at: pages.append(at)
    ).start()
    try:
        poll(r.active.is_set)
        # When two appends are made back to back
        ws = uuid.uuid4()
        model_calls(own, ws, 1)
        model_calls(own, ws, 1)
        r.wait(own.last_position(UsageProjection.topics), timeout=10)
        # I expect both applied in one page (one transaction)
        assert usage_of(probe, ws) == (2, 200)
        assert len(pages) == 1
    finally:
        r.stop()
