"""The chained append (ADR 0028, 0065): the hashes it writes are the chain's definition recomputed here in Python
(independent of ``link_sql``, which the append and the check share), from the empty hash for a stream stored before
the chain; a rejected append writes no hash."""

from __future__ import annotations

import hashlib
import uuid

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent

from commands._chain import verify
from tests.support.chain_store import CHAIN, TABLE, event, open_app


def expected_hashes(url: str) -> dict[tuple[str, int], bytes]:
    """Every chained stream's hashes recomputed from its events: SHA-256 of the previous hash (none: empty) and the
    stream id, version, topic and state, NUL after each text field; a stream whose first event has no hash in the
    table is skipped up to its first hashed event (stored before the chain)."""
    with psycopg.connect(url) as conn:
        hashed = {(str(s), v) for s, v in conn.execute(f"SELECT originator_id, originator_version FROM {CHAIN}")}
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {TABLE} ORDER BY 1, 2"
        ).fetchall()
    expected: dict[tuple[str, int], bytes] = {}
    previous: dict[str, bytes] = {}
    for stream, version, topic, state in rows:
        key = (str(stream), int(version))
        if key not in hashed and key[0] not in previous:
            continue
        content = f"{stream}\0{version}\0{topic}\0".encode() + bytes(state)
        previous[key[0]] = expected[key] = hashlib.sha256(previous.get(key[0], b"") + content).digest()
    return expected


def stored_hashes(url: str) -> dict[tuple[str, int], bytes]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT originator_id, originator_version, chain_hash FROM {CHAIN}").fetchall()
    return {(str(s), int(v)): bytes(h) for s, v, h in rows}


def test_the_append_writes_the_chain_of_its_definition(store_url: str) -> None:
    # Given a store, and a stream stored before the chain (its rows without a hash)
    app = open_app(store_url)
    a, b, c, old = (uuid.uuid4() for _ in range(4))
    app.recorder.insert_events([event(old, 1), event(old, 2)])
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {CHAIN} WHERE originator_id = %s", (old,))
    # When batches of one stream, of several streams, and with the old stream's next event are appended
    ids = app.recorder.insert_events([event(a, 1), event(a, 2), event(b, 1)])
    ids = [*(ids or []), *(app.recorder.insert_events([event(a, 3), event(c, 1), event(b, 2), event(b, 3)]) or [])]
    ids = [*ids, *(app.recorder.insert_events([event(a, 4), event(a, 5), event(b, 4), event(old, 3)]) or [])]
    ids = [*ids, *(app.recorder.insert_events([event(c, 2)]) or [])]
    # I expect the events' ids in order, and every new event's hash to be the chain's definition
    assert ids == sorted(ids) and len(ids) == 12
    stored = stored_hashes(store_url)
    assert len(stored) == 12 and (str(old), 3) in stored and (str(old), 2) not in stored
    assert stored == expected_hashes(store_url)
    report = verify(store_url, TABLE, shares=4)
    assert (report.events, report.chained, report.before_chain, report.ok) == (14, 12, 2, True)
    app.close()


def test_a_rejected_append_writes_no_hash(store_url: str) -> None:
    # Given a stream of two chained events
    app = open_app(store_url)
    a, b = uuid.uuid4(), uuid.uuid4()
    app.recorder.insert_events([event(a, 1), event(a, 2)])
    # When an append repeats its version 2 (a concurrent writer's), beside a new stream
    with pytest.raises(IntegrityError):
        app.recorder.insert_events([event(b, 1), StoredEvent(a, 2, "test:Event", b"{}")])
    # I expect neither the new stream's event nor any hash written, and the chain intact
    assert len(stored_hashes(store_url)) == 2
    assert verify(store_url, TABLE, shares=4).events == 2
    assert stored_hashes(store_url) == expected_hashes(store_url)
    app.close()


def test_an_append_that_interleaves_streams_is_refused_and_writes_nothing(store_url: str) -> None:
    # Given a stream of one chained event
    app = open_app(store_url)
    a, b = uuid.uuid4(), uuid.uuid4()
    app.recorder.insert_events([event(a, 1)])
    # When an append interleaves two streams (a2, b1, a3): a3 would be chained from nothing at the change of stream
    with pytest.raises(ProgrammingError, match="interleaves the events of stream"):
        app.recorder.insert_events([event(a, 2), event(b, 1), event(a, 3)])
    # I expect nothing written, and the same events kept together appended and chained as defined
    assert verify(store_url, TABLE, shares=4).events == 1
    app.recorder.insert_events([event(a, 2), event(a, 3), event(b, 1)])
    assert stored_hashes(store_url) == expected_hashes(store_url)
    assert verify(store_url, TABLE, shares=4).ok
    app.close()
