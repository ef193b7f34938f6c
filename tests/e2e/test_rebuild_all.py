"""`chatassist projections rebuild --all` (and `rebuild NAME NAME ...`): every projection rebuilt in one pass over
the store, each event decoded once, gives every table row for row as the incremental run; the live runners continue
from the swapped positions; the dashboards keep reading; a projection that fails mid-pass leaves every live table as
it was and nothing behind; unknown names exit 2. A page handed to PageApplier already decoded is applied as one."""

from __future__ import annotations

import io
import logging
import os
import threading
import uuid
from typing import Any, ClassVar

import psycopg
import pytest
from eventsourcing.utils import get_topic
from psycopg.rows import dict_row

from chatassist.bootstrap import PROJECTIONS, Container
from chatassist.cli import main
from chatassist.rebuild import RebuildRefused, rebuild, rebuild_all
from commands.create_workspace import cmd as create_ws
from projections._paging import PageApplier, PositionMoved, ProjectionStopped, decode, read_page
from projections.rebuild import shares as rebuild_shares
from projections.usage.projection import UsageProjection, UsageView
from tests.e2e import test_rebuild as single
from tests.e2e.test_rebuild import a_handoff, a_turn, cli, dump, leftovers, live_tables
from tests.integration import test_projection_replicas as replicas
from tests.integration.test_projection_replicas import Probe
from tests.support.scratch import ScratchProjection

db, ws, cli_env = single.db, single.ws, single.cli_env  # the single-projection tests' fixtures
own = replicas.own  # a container on its own throwaway database (its Probe events stay there)


def every_table(conn: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """The live tables of every projection, by projection."""
    return {name: live_tables(conn, name) for name in PROJECTIONS}


def dump_all(conn: psycopg.Connection[Any], tables: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """Every row of every table, by projection."""
    return {name: dump(conn, names) for name, names in tables.items()}


def positions(container: Container, projections: dict[str, tuple[Any, Any]] = PROJECTIONS) -> dict[str, Any]:
    """Each projection's live tracking position."""
    with psycopg.connect(container.database_url) as conn:
        out = {}
        for name, (projection_class, _) in projections.items():
            row = conn.execute(
                f"SELECT notification_id FROM {projection_class.name.lower()}_tracking"
                " WHERE application_name = %s".encode(),
                (container.app.name,),
            ).fetchone()
            out[name] = None if row is None else row[0]
        return out


@pytest.mark.parametrize(("fold", "workers"), [(True, 1), (False, 1), (True, 2), (True, 3)])
def test_rebuilding_all_at_once_gives_the_same_rows_decodes_each_event_once_and_the_runners_continue(
    fold: bool,
    workers: int,
    ws: uuid.UUID,
    container: Container,
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="chatassist.projections")
    # Given every live projection caught up, with rows of several workspaces (shared out among the processes)
    for n in range(3):
        other = create_ws.execute(container.app, create_ws.CreateWorkspace(f"Other {n} Inc")).workspace_id
        for i in range(n + 1):
            a_turn(container, other, f"Question {i} of workspace {n}?")
    container.wait_for_projections()
    tables = every_table(db)
    before = dump_all(db, tables)
    assert all(any(rows.values()) for rows in before.values()), "a projection has no rows to rebuild"
    topics = sorted({t for projection_class, _ in PROJECTIONS.values() for t in projection_class.topics})
    table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
    subscribed = db.execute(f"SELECT count(*) FROM {table} WHERE topic = ANY(%s)".encode(), (topics,)).fetchone()
    assert subscribed is not None
    # (counting the decoder's calls, which still decodes)
    decoded: list[int] = []
    to_domain_event = container.app.mapper.to_domain_event

    def counted(notification: Any) -> Any:
        # the pass's notifications; the retention purge after the swap also reads each workspace's settings
        # aggregate (stored events, which have no notification id)
        if hasattr(notification, "id"):
            decoded.append(notification.id)
        return to_domain_event(notification)

    monkeypatch.setattr(container.app.mapper, "to_domain_event", counted)
    # When all five are rebuilt in one pass, 25 events per page (many pages), in one process or in share processes
    # (each applying the events of a share of the workspaces), while their live runners run
    out = io.StringIO()
    result = rebuild_all(container, batch=25, stream=out, fold=fold, workers=workers)
    monkeypatch.undo()
    # I expect every swapped-in table to hold exactly the rows of the incremental run, and nothing left behind
    assert dump_all(db, tables) == before
    assert leftovers(db) == []
    assert [r.name for r in result.results] == list(PROJECTIONS)
    assert [r.tables for r in result.results] == list(tables.values())
    # and every event of their topics read and decoded once, though most feed several projections (in share
    # processes, their own decoding is not seen here)
    assert result.events == subscribed[0] and result.processes == workers
    if workers == 1:
        assert len(decoded) == len(set(decoded)) == result.events
    assert sum(r.events for r in result.results) > result.events
    assert not [m for m in caplog.messages if "applying them one by one" in m or "starting over" in m]
    # and each live tracking row at its rebuilt position
    assert positions(container) == {r.name: r.position for r in result.results}
    # and one progress display for the pass, then a line per projection and the pass's summary
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("rebuild all: position") and "events/s, ETA" in lines[0]
    for name, r in zip(PROJECTIONS, result.results, strict=True):
        assert f"rebuild {name}: {r.events:,} events in" in out.getvalue()
    how = "read and decoded once" if workers == 1 else f"applied by {workers} processes, each a share of the"
    assert lines[-1].startswith(f"rebuild all: {result.events:,} events {how}")
    assert lines[-1].endswith(f"{len(PROJECTIONS)} projections swapped in one transaction")
    # When more events are written after the swap
    conversation_id = a_turn(container, ws, "And after the rebuild of all?")
    create_ws.execute(container.app, create_ws.CreateWorkspace("After All Inc"))
    container.wait_for_projections()
    # I expect every live runner to have applied them to the new tables, from the swapped position
    assert [r.error for r in container.runners] == [None] * len(container.runners)
    for runner in container.runners:
        assert runner.view.max_tracking_id(container.app.name) == container.last_position(runner.projection.topics)
    after = dump_all(db, tables)
    assert [name for name in PROJECTIONS if after[name] == before[name]] == []
    transcript = container.transcripts.query(
        "SELECT count(*) AS n FROM transcript_v2_messages WHERE conversation_id = %s", (conversation_id,)
    )
    assert transcript[0]["n"] > 0


def test_the_dashboards_keep_reading_during_a_pass(
    ws: uuid.UUID,
    container: Container,
    db: psycopg.Connection[Any],
) -> None:
    # Given transcripts and analytics caught up, with N conversations each
    container.wait_for_projections()
    assert container.analytics is not None
    reads = {
        container.transcripts: "SELECT count(*) AS n FROM transcript_v2_conversations",
        container.analytics: "SELECT count(*) AS n FROM analytics_v2_conversations",
    }
    counts = {view: view.query(q)[0]["n"] for view, q in reads.items()}
    # When a slow pass of every projection (10 events per page) runs in the background
    errors: list[BaseException] = []

    def run() -> None:
        try:
            rebuild_all(container, batch=10, stream=io.StringIO())
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    seen: dict[Any, set[int]] = {view: set() for view in reads}
    during = 0
    while worker.is_alive():
        for view, query in reads.items():  # the web's own views (pooled, prepared statements)
            seen[view].add(view.query(query)[0]["n"])
        if leftovers(db):
            during += 1
    worker.join()
    # I expect every read during the pass to see all N (never a half-built table), and the same right after
    assert errors == [] and during > 0
    assert seen == {view: {n} for view, n in counts.items()}
    assert {view: view.query(q)[0]["n"] for view, q in reads.items()} == counts and leftovers(db) == []


def test_the_cli_rebuilds_all_and_named_projections_in_one_pass(
    ws: uuid.UUID,
    container: Container,
    cli_env: dict[str, str],
    db: psycopg.Connection[Any],
) -> None:
    # Given every projection caught up
    container.wait_for_projections()
    tables = every_table(db)
    before = dump_all(db, tables)
    # When the command rebuilds --all (not on a terminal)
    done = cli("projections", "rebuild", "--all", "--batch", "50", env=cli_env)
    # I expect success, the pass's progress lines, a summary line per projection, and the same rows
    assert done.returncode == 0, done.stderr
    assert "rebuild all: position" in done.stderr and "\r" not in done.stderr
    assert done.stderr.count("swapped at position") == len(PROJECTIONS)
    assert f"{len(PROJECTIONS)} projections swapped in one transaction" in done.stderr
    assert dump_all(db, tables) == before and leftovers(db) == []
    # When it rebuilds two named projections
    done = cli("projections", "rebuild", "usage", "audit", "--batch", "3", env=cli_env)
    # I expect one pass of those two only
    assert done.returncode == 0, done.stderr
    assert "rebuild usage, audit: position" in done.stderr
    assert "rebuild usage: " in done.stderr and "rebuild audit: " in done.stderr
    assert "rebuild analytics: " not in done.stderr
    assert "2 projections swapped in one transaction" in done.stderr
    assert dump_all(db, tables) == before and leftovers(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["usage", "nope"], "error: unknown projection 'nope'; known: transcripts, usage, analytics, audit, monitor"),
        (["nope", "nada"], "error: unknown projections 'nope', 'nada'; known: transcripts, usage, analytics, audit,"),
        ([], "error: name one or more projections, or --all"),
        (["--all", "usage"], "error: --all rebuilds every projection: name none with it"),
    ],
)
def test_the_cli_refuses_unknown_names_and_a_missing_or_doubled_choice_with_exit_code_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the command is given these arguments (in this process: it stops before it connects to anything)
    with pytest.raises(SystemExit) as exited:
        main(["projections", "rebuild", *args])
    # I expect exit code 2 and the reason
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_a_page_decoded_once_is_applied_like_one_decoded_by_the_applier(
    ws: uuid.UUID,
    container: Container,
) -> None:
    # Given a scratch usage projection and the first page of its events, decoded by the caller
    scratch = ScratchProjection(container, "usage_v1", {"monthly": "workspace_id, month"}, UsageView, UsageProjection)
    try:
        applier = PageApplier(container.app.name, container.app.mapper, scratch.projection, scratch.view)
        with psycopg.connect(container.database_url, autocommit=True, row_factory=dict_row) as conn:
            table = container.app.recorder.events_table_name  # type: ignore[attr-defined]
            page = read_page(conn, table, None, UsageProjection.topics, 50)
            events = decode(container.app.name, container.app.mapper, page)
            # When it is applied with its decoded events
            applier.apply(conn, page, None, events)
            # I expect the rows and the position of the incremental run's way of applying it
            assert scratch.view.max_tracking_id(container.app.name) == page[-1].id
            rows = scratch.dump(scratch.prefix)
            assert rows["monthly"] and all(rows.values())
            # and the same page again from the start refused with the tracked position, writing nothing
            with pytest.raises(PositionMoved) as moved:
                applier.apply(conn, page, None, events)
            assert moved.value.position == page[-1].id and scratch.dump(scratch.prefix) == rows
    finally:
        scratch.drop()


# --- a projection that fails mid-pass --------------------------------------------------------------------------


class StrictView(UsageView):
    """The usage tables under a prefix of this test."""

    prefix: ClassVar[str] = "strict_v1"


class StrictProjection(UsageProjection):
    """Usage, also subscribed to Probe.Poked, which it fails to apply (a bug of a projection)."""

    name = "strict_v1"
    topics: ClassVar[tuple[str, ...]] = (*UsageProjection.topics, get_topic(Probe.Poked))

    def process_event(self, domain_event: Any, tracking: Any) -> None:
        """Usage's handlers, except that a poke cannot be applied."""
        if isinstance(domain_event, Probe.Poked):
            raise ValueError("strict_v1 has no row for a poke")
        super().process_event(domain_event, tracking)


def test_a_projection_that_fails_mid_pass_leaves_every_live_table_untouched_and_nothing_behind(
    own: Container, caplog: pytest.LogCaptureFixture
) -> None:
    projections = {**PROJECTIONS, "strict": (StrictProjection, StrictView)}
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE strict_v1_monthly (LIKE usage_v1_monthly INCLUDING ALL)")
        # Given conversations, live tables rebuilt from them, then a poke the strict projection cannot apply
        workspace_id = create_ws.execute(own.app, create_ws.CreateWorkspace("Strict Inc")).workspace_id
        for i in range(4):
            a_turn(own, workspace_id, f"Question {i}?")
        second = create_ws.execute(own.app, create_ws.CreateWorkspace("Second Inc")).workspace_id
        a_turn(own, second, "A question of another workspace?")
        a_handoff(own, workspace_id)
        rebuild_all(own, batch=5, stream=io.StringIO())
        for i in range(3):
            a_turn(own, workspace_id, f"Later question {i}?")
        probe = Probe()
        probe.poke()
        own.app.save(probe)
        poked = own.last_position((get_topic(Probe.Poked),))
        a_turn(own, workspace_id, "After the poke?")
        tables = {name: live_tables(conn, name) for name in PROJECTIONS}
        before, tracked = dump_all(conn, tables), positions(own)
        # When every projection and the strict one are rebuilt in one pass, 3 events per page
        caplog.set_level(logging.WARNING, logger="chatassist.projections")
        with pytest.raises(ProjectionStopped) as stopped:
            rebuild_all(own, list(projections), batch=3, stream=io.StringIO(), projections=projections, workers=2)
        # I expect it stopped naming the event and its position, after pages before it were applied: the share
        # process that failed made the pass start over in one process, and the pass that held the folds' rows in
        # memory cannot apply a page again event by event, so it started over without
        in_one = [m for m in caplog.messages if "starting over in one process" in m]
        assert len(in_one) == 1 and "share 0: " in in_one[0] and "strict_v1 has no row for a poke" in in_one[0]
        starting_over = [m for m in caplog.messages if "starting over without holding rows" in m]
        assert len(starting_over) == 1 and "strict_v1: a page of held rows failed" in starting_over[0]
        assert f"strict_v1: cannot apply Probe.Poked at position {poked}" in str(stopped.value)
        assert poked is not None and poked > 3 * 3
        # and every live table and tracking row as before, no copy, old table or build tracking table left
        assert dump_all(conn, tables) == before and positions(own) == tracked
        assert dump(conn, ["strict_v1_monthly"]) == {"strict_v1_monthly": []}
        assert leftovers(conn) == []
        # and the rebuilds' locks released: the projections can be rebuilt again at once
        assert rebuild(own, "usage", stream=io.StringIO()).position is not None
        with pytest.raises(RebuildRefused, match="unknown projection 'strict'"):
            rebuild(own, "strict")


# --- share processes -------------------------------------------------------------------------------------------


def test_share_processes_give_the_rows_of_one_process_and_one_that_dies_makes_the_pass_start_over(
    own: Container, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(own.database_url, autocommit=True) as conn:
        # Given three workspaces with conversations (one with a handoff), rebuilt in one process
        for n in range(3):
            workspace_id = create_ws.execute(own.app, create_ws.CreateWorkspace(f"Share {n} Inc")).workspace_id
            for i in range(2 + n):
                a_turn(own, workspace_id, f"Question {i} of {n}?")
        a_handoff(own, workspace_id)
        tables = every_table(conn)
        alone = rebuild_all(own, batch=4, stream=io.StringIO(), workers=1)
        assert alone.processes == 1
        reference, tracked = dump_all(conn, tables), positions(own)
        assert all(any(rows.values()) for name, rows in reference.items() if name != "audit")
        caplog.set_level(logging.WARNING, logger="chatassist.projections")
        # When they are rebuilt by two share processes, each holding at most 3 rows (then writing page by page)
        shared = rebuild_all(own, batch=4, stream=io.StringIO(), workers=2, hold=3)
        # I expect the same rows and positions, from two processes, and nothing started over
        assert shared.processes == 2 and len(shared.shares) == 2
        assert sum(s.decoded for s in shared.shares) >= alone.events - 10  # the audit log's own events aside
        assert dump_all(conn, tables) == reference and positions(own) == tracked
        assert not [m for m in caplog.messages if "starting over" in m] and leftovers(conn) == []
        # When the second share's process dies on its way (no message, exit status 3)
        apply_share = rebuild_shares._apply_share

        def dies_in_share_1(job: rebuild_shares.ShareJob) -> Any:
            if job.k == 1:
                os._exit(3)
            return apply_share(job)

        monkeypatch.setattr(rebuild_shares, "_apply_share", dies_in_share_1)
        again = rebuild_all(own, batch=4, stream=io.StringIO(), workers=2)
        # I expect the pass started over in one process, with the same rows, and nothing left behind
        started_over = [m for m in caplog.messages if "starting over in one process" in m]
        assert len(started_over) == 1 and "share 1: its process ended with status 3" in started_over[0]
        assert again.processes == 1 and again.position == alone.position
        assert dump_all(conn, tables) == reference and positions(own) == tracked and leftovers(conn) == []


def test_share_processes_while_conversations_keep_coming_give_the_rows_of_one_process(
    ws: uuid.UUID,
    container: Container,
    db: psycopg.Connection[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given three workspaces with conversations, the live projections caught up
    workspaces = [ws] + [
        create_ws.execute(container.app, create_ws.CreateWorkspace(f"Busy {n} Inc")).workspace_id for n in range(2)
    ]
    for n, workspace_id in enumerate(workspaces):
        for i in range(3):
            a_turn(container, workspace_id, f"Earlier question {i} of {n}?")
    container.wait_for_projections()
    caplog.set_level(logging.WARNING, logger="chatassist.projections")
    # When every projection is rebuilt by two share processes (5 events per page) while new conversations are
    # started in every workspace, some of them after the pass counted its head and planned its shares
    stop, written = threading.Event(), [0]

    def keep_writing() -> None:  # a turn every 20 ms, at most 200 (the pass catches up with what it finds)
        while not stop.is_set() and written[0] < 200:
            a_turn(container, workspaces[written[0] % len(workspaces)], f"Question {written[0]} during the pass?")
            written[0] += 1
            stop.wait(0.02)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        shared = rebuild_all(container, batch=5, stream=io.StringIO(), workers=2)
    finally:
        stop.set()
        writer.join()
    container.wait_for_projections()
    # I expect the pass done by the share processes, nothing started over, the runners on from it
    assert shared.processes == 2 and written[0] > 0
    assert not [m for m in caplog.messages if "starting over" in m]
    assert [r.error for r in container.runners] == [None] * len(container.runners)
    tables = every_table(db)
    after_shares = dump_all(db, tables)
    # and the same rows as a rebuild in one process of the same store
    rebuild_all(container, batch=50, stream=io.StringIO(), workers=1)
    container.wait_for_projections()
    assert dump_all(db, tables) == after_shares and leftovers(db) == []
