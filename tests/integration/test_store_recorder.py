"""The event store's one-round-trip append (commands/_store.py) on the real PostgreSQL: appends are atomic, keep
optimistic concurrency, issue notification ids in commit order (a tailing reader never passes a gap that is filled
in later), interleave safely with the library's own recorder, and processes may create the store at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands._store import OneTripRecorder
from commands.application import ChatAssistApp
from tests.support.at_once import at_once
from tests.support.services import throwaway_database

LIBRARY_RECORDER = {"APPLICATION_RECORDER_TOPIC": "eventsourcing.postgres:PostgresApplicationRecorder"}


@pytest.fixture
def store_url(service_urls: tuple[str, str]) -> Iterator[str]:
    with throwaway_database(service_urls[0]) as url:
        yield url


def open_app(url: str, pool: int = 2, **env: str) -> ChatAssistApp:
    settings = Settings(database_url=url, db_pool_size=pool)
    return ChatAssistApp(env={**eventsourcing_env(settings, url), **env})


def stored(originator: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator, originator_version=version, topic="test:Event", state=b"{}")


def rows(url: str) -> list[tuple[uuid.UUID, int, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT originator_id, originator_version, notification_id FROM chatassist_events ORDER BY 3"
        ).fetchall()


def test_an_append_is_one_statement_and_returns_the_ids_in_order(store_url: str) -> None:
    # Given the app as bootstrap configures it
    app = open_app(store_url)
    try:
        assert type(app.recorder) is OneTripRecorder
        one, two = uuid.uuid4(), uuid.uuid4()
        # When two appends are made
        first = app.recorder.insert_events([stored(one, 1), stored(one, 2), stored(two, 1)])
        second = app.recorder.insert_events([stored(two, 2)])
        # I expect their ids in order, as stored
        assert first is not None and second is not None
        assert [*first, *second] == [n for *_, n in rows(store_url)]
        assert first == sorted(first) and second[0] > first[-1]
        assert app.recorder.insert_events([]) == []
    finally:
        app.close()


def test_a_conflicting_append_writes_nothing_and_raises_the_concurrency_error(store_url: str) -> None:
    # Given an aggregate with one stored event
    app = open_app(store_url)
    try:
        one, two = uuid.uuid4(), uuid.uuid4()
        app.recorder.insert_events([stored(one, 1)])
        # When an append holds a new event and one at a version already taken
        with pytest.raises(IntegrityError):
            app.recorder.insert_events([stored(two, 1), stored(one, 1)])
        # I expect nothing of it stored, and the next append to go through
        assert [(o, v) for o, v, _ in rows(store_url)] == [(one, 1)]
        app.recorder.insert_events([stored(two, 1)])
        assert [(o, v) for o, v, _ in rows(store_url)] == [(one, 1), (two, 1)]
    finally:
        app.close()


@pytest.mark.parametrize("library_too", [False, True], ids=["ours", "ours-and-the-library"])
def test_a_tailing_reader_never_passes_a_gap_filled_in_later(store_url: str, library_too: bool) -> None:
    # Given 8 writer threads appending at once, each on its own connection (half of them through the library's
    # recorder, in the second case: a process not yet upgraded), and a reader tailing the log as a runner does
    apps = [open_app(store_url, pool=1, **(LIBRARY_RECORDER if library_too and i % 2 else {})) for i in range(8)]
    assert {type(a.recorder) for a in apps} == (
        {OneTripRecorder, PostgresApplicationRecorder} if library_too else {OneTripRecorder}
    )
    appends, stop, seen, errors = 150, threading.Event(), [], []

    def write(app: ChatAssistApp) -> None:
        try:
            for _ in range(appends):
                originator = uuid.uuid4()
                app.recorder.insert_events([stored(originator, 1), stored(originator, 2)])
        except Exception as err:
            errors.append(err)

    def tail() -> None:
        with psycopg.connect(store_url, autocommit=True) as conn:
            last = 0
            while not stop.is_set() or last < 8 * appends * 2:
                batch = [
                    n
                    for (n,) in conn.execute(
                        "SELECT notification_id FROM chatassist_events WHERE notification_id > %s ORDER BY 1", (last,)
                    )
                ]
                seen.extend(batch)
                last = batch[-1] if batch else last

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(a,)) for a in apps]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join(timeout=60)
    for a in apps:
        a.close()
    # I expect every append stored, and the reader to have seen every id, once, in order: had an id been committed
    # after a higher one the reader had already passed, it would be missing here
    assert not errors and not reader.is_alive()
    assert seen == [n for *_, n in rows(store_url)]
    assert len(seen) == 8 * appends * 2 and seen == list(range(seen[0], seen[0] + len(seen)))


def test_processes_may_create_the_store_at_the_same_moment(store_url: str) -> None:
    # Given 6 apps started at once on an empty database (they each create the events table and our function)
    apps, errors = at_once(6, lambda: open_app(store_url, pool=1))
    try:
        # I expect each to have started, and to append
        assert errors == []
        for app in apps:
            app.recorder.insert_events([stored(uuid.uuid4(), 1)])
        assert len(rows(store_url)) == 6
    finally:
        for app in apps:
            app.close()
