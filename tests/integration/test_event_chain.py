"""Tamper evidence (issue 17): every event appended through the store gets a hash chained to the previous event of its
stream, computed in the append itself; the check names each edited, deleted, reordered or unchained row by stream,
version and position, and counts the events stored before the chain."""

from __future__ import annotations

import uuid

import psycopg

from commands._chain import Broken, verify
from tests.support.chain_store import CHAIN, TABLE, event, open_app


def position(conn: psycopg.Connection[tuple[object, ...]], stream: uuid.UUID, version: int) -> int:
    row = conn.execute(
        f"SELECT notification_id FROM {TABLE} WHERE originator_id = %s AND originator_version = %s", (stream, version)
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_the_chain_verifies_and_names_each_tampered_row(store_url: str) -> None:
    # Given six streams of four events, appended in batches that mix streams (as one save of several aggregates)
    app = open_app(store_url)
    streams = [uuid.uuid4() for _ in range(6)]
    for version in range(1, 5, 2):
        app.recorder.insert_events([event(s, v) for s in streams for v in (version, version + 1)])
    # and one stream stored before the chain existed (its rows without a hash)
    old = uuid.uuid4()
    app.recorder.insert_events([event(old, 1), event(old, 2)])
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {CHAIN} WHERE originator_id = %s", (old,))
        # When it is checked untouched
        clean = verify(store_url, TABLE, shares=4)
        # I expect every event chained, two before the chain, nothing broken
        assert (clean.events, clean.chained, clean.before_chain, clean.broken) == (26, 24, 2, [])
        # and a later event of the old stream to chain from there
        app.recorder.insert_events([event(old, 3)])
        assert verify(store_url, TABLE, shares=4).ok
        edited, deleted, reordered, unchained, rehashed, swapped = streams
        # When rows are edited, deleted, reordered and unchained directly in PostgreSQL
        conn.execute(
            f"UPDATE {TABLE} SET state = convert_to('{{\"n\": 99}}', 'UTF8') WHERE originator_id = %s"
            " AND originator_version = 2",
            (edited,),
        )
        conn.execute(f"DELETE FROM {TABLE} WHERE originator_id = %s AND originator_version = 2", (deleted,))
        last_of_deleted = position(conn, deleted, 4)
        conn.execute(f"DELETE FROM {TABLE} WHERE notification_id = %s", (last_of_deleted,))
        first, second = position(conn, reordered, 2), position(conn, reordered, 3)
        conn.execute(f"UPDATE {TABLE} SET notification_id = -1 WHERE notification_id = %s", (first,))
        conn.execute(f"UPDATE {TABLE} SET notification_id = %s WHERE notification_id = %s", (first, second))
        conn.execute(f"UPDATE {TABLE} SET notification_id = %s WHERE notification_id = -1", (second,))
        conn.execute(f"DELETE FROM {CHAIN} WHERE originator_id = %s AND originator_version = 3", (unchained,))
        conn.execute(
            f"UPDATE {CHAIN} SET chain_hash = sha256('forged'::bytea) WHERE originator_id = %s"
            " AND originator_version = 4",
            (rehashed,),
        )
        a, b = position(conn, swapped, 1), position(conn, swapped, 2)
        conn.execute(
            f"UPDATE {TABLE} t SET state = o.state FROM {TABLE} o WHERE t.notification_id IN (%s, %s)"
            " AND o.notification_id IN (%s, %s) AND o.notification_id <> t.notification_id",
            (a, b, a, b),
        )
        report = verify(store_url, TABLE, shares=4)
        # I expect the first broken link of each tampered stream, by kind, stream, version and position
        expected = {
            Broken("edited", str(edited), 2, position(conn, edited, 2)),
            Broken("missing", str(deleted), 2, None),  # its hash outlives it: the deleted version itself is named
            Broken("reordered", str(reordered), 3, first),
            Broken("unchained", str(unchained), 3, position(conn, unchained, 3)),
            Broken("edited", str(rehashed), 4, position(conn, rehashed, 4)),
            Broken("edited", str(swapped), 1, a),
        }
        assert set(report.broken) == expected and not report.ok
        assert report.events == 25  # 27 appended, two deleted (the last of a stream too: its hash is still there)
        assert sum(1 for b in report.broken if b.stream == str(deleted)) == 1
    app.close()
