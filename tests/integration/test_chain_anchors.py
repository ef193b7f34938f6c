"""Anchors (issue 17, ADR 0046): the heads of a workspace's chains recorded in the audit log; a check against the
last anchor names a stream cut back with its hashes, a chain recomputed after an edit, and an edit of the events
stored before the chain (anchored once), none of which the chain alone can see."""

from __future__ import annotations

import uuid

import psycopg

from chatassist.bootstrap import Container
from chatassist.chain import anchor_job
from commands._chain import verify_streams
from commands._store import link_sql
from commands.anchor_chains import cmd as anchors
from commands.create_workspace.cmd import WorkspaceCreated
from domain.chain_anchor import ChainAnchor, heads_digest
from tests.support.chain_store import CHAIN, TABLE, event, open_app


def test_the_anchor_names_a_truncated_a_rewritten_and_an_edited_before_chain_stream(store_url: str) -> None:
    # Given a workspace of four streams of three events, and one stream stored before the chain existed
    app = open_app(store_url)
    workspace = uuid.uuid4()
    streams = [uuid.uuid4() for _ in range(4)]
    app.recorder.insert_events([event(s, v) for s in streams for v in (1, 2, 3)])
    old = uuid.uuid4()
    app.recorder.insert_events([event(old, 1), event(old, 2)])
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {CHAIN} WHERE originator_id = %s", (old,))
    every = [*streams, old]
    # When the workspace is anchored
    first = anchors.execute(app, store_url, TABLE, anchors.AnchorChains(workspace, every))
    # I expect every chained head anchored, the old stream's events anchored once, and nothing differing
    assert (first.streams, first.changed, first.before_chain) == (4, 4, 1)
    assert anchors.check_anchor(app, store_url, TABLE, workspace)[1] == []
    # When more events arrive (one stream grows, the old one chains on) and it is anchored again
    app.recorder.insert_events([event(streams[0], 4), event(old, 3)])
    second = anchors.execute(app, store_url, TABLE, anchors.AnchorChains(workspace, every))
    # I expect only the changed heads in the new anchor, the old stream's digest not repeated
    anchor = anchors.load(app, workspace)
    assert isinstance(anchor, ChainAnchor) and anchor.anchors == 2
    assert (second.streams, second.changed, second.before_chain) == (5, 2, 1)
    assert anchor.digest == heads_digest(anchor.heads) == second.digest
    assert anchor.heads[str(streams[0])][0] == 4 and anchor.heads[str(old)][0] == 3
    grown, truncated, rewritten, untouched = streams
    with psycopg.connect(store_url, autocommit=True) as conn:
        # When a stream's last event is deleted with its hash (its chain still verifies)
        conn.execute(f"DELETE FROM {TABLE} WHERE originator_id = %s AND originator_version = 3", (truncated,))
        conn.execute(f"DELETE FROM {CHAIN} WHERE originator_id = %s AND originator_version = 3", (truncated,))
        # and an event is edited and its stream's chain recomputed from there (it verifies too)
        conn.execute(
            f"UPDATE {TABLE} SET state = convert_to('{{\"n\": 99}}', 'UTF8') WHERE originator_id = %s"
            " AND originator_version = 2",
            (rewritten,),
        )
        for version in (2, 3):
            conn.execute(
                f"UPDATE {CHAIN} c SET chain_hash = {link_sql('p.chain_hash', 'e')} FROM {TABLE} e, {CHAIN} p"
                " WHERE c.originator_id = %(s)s AND c.originator_version = %(v)s AND e.originator_id = %(s)s"
                " AND e.originator_version = %(v)s AND p.originator_id = %(s)s AND p.originator_version = %(v)s - 1",
                {"s": rewritten, "v": version},
            )
        # and an event stored before the chain is edited
        conn.execute(
            f"UPDATE {TABLE} SET state = convert_to('{{\"n\": 7}}', 'UTF8') WHERE originator_id = %s"
            " AND originator_version = 1",
            (old,),
        )
    # I expect the chains alone to see nothing wrong
    assert verify_streams(store_url, TABLE, [truncated, rewritten, untouched, grown, old]).ok
    # and the anchor to name each tampered stream, by kind and anchored version
    last, problems = anchors.check_anchor(app, store_url, TABLE, workspace)
    assert last is not None and last.version == anchor.version
    assert set(problems) == {
        anchors.AnchorProblem("truncated", str(truncated), 3),
        anchors.AnchorProblem("rewritten", str(rewritten), 3),
        anchors.AnchorProblem("before_chain_edited", str(old), 2),
    }
    app.close()


def test_a_workspace_never_anchored_has_no_anchor_to_differ_from(store_url: str) -> None:
    app = open_app(store_url)
    assert anchors.check_anchor(app, store_url, TABLE, uuid.uuid4()) == (None, [])
    app.close()


class NotLeader:
    def is_leader(self) -> bool:
        return False


def test_the_scheduler_job_anchors_every_workspace_into_the_audit_log(
    container: Container, workspace: WorkspaceCreated
) -> None:
    # Given a workspace (its events chained), and a scheduler that is not the active one
    assert anchor_job(container.app, container.database_url, NotLeader()) == 0
    # When the active scheduler's job runs
    container.wait_for_projections()
    assert anchor_job(container.app, container.database_url) >= 1
    container.wait_for_projections()
    # I expect an audit.chains_anchored row in the workspace with the anchor's digest, and nothing differing
    anchor, problems = anchors.check_anchor(container.app, container.database_url, TABLE, workspace.workspace_id)
    assert anchor is not None and problems == []
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute(
            "SELECT actor_id, details FROM audit_v1_log WHERE workspace_id = %s AND kind = 'audit.chains_anchored'",
            (workspace.workspace_id,),
        ).fetchall()
    assert len(rows) == 1 and rows[0][0] is None
    details = rows[0][1]
    assert details["digest"] == anchor.digest and details["streams"] == len(anchor.heads) >= 1
    assert str(workspace.workspace_id) in anchor.heads
