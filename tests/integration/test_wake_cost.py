"""A runner's wake costs what it applies, not what lies between (issue 20): the read of "my topics after my
position" is served by the index on (topic, notification_id), whatever else the store holds after the position."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from projections._paging import page_query, read_page
from tests.support.services import throwaway_database

RARE = [f"domain.rare:Event{n}" for n in range(12)]  # like the audit projection's admin events


@pytest.fixture(scope="module")
def store(service_urls: tuple[str, str]) -> Iterator[tuple[str, int]]:
    """A store of 30,000 chat-like events with a few rare ones at its start; (url, position after the rare ones)."""
    with throwaway_database(service_urls[0]) as url:
        settings = Settings(database_url=url, db_pool_size=2)
        app = ChatAssistApp(env=eventsourcing_env(settings, url))
        try:
            rare = [StoredEvent(uuid.uuid4(), 1, topic, b"{}") for topic in RARE[:3]]
            ids = app.recorder.insert_events(rare)
            assert ids
            for _ in range(30):
                batch = [StoredEvent(uuid.uuid4(), 1, "domain.chat:MessageReceived", b"{}") for _ in range(1000)]
                app.recorder.insert_events(batch)
        finally:
            app.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE chatassist_events")
        yield url, ids[-1]


def examined(plan: dict[str, Any]) -> int:
    """Rows every node of the plan produced or threw away (what the wake cost PostgreSQL)."""
    own = int(plan.get("Actual Rows", 0)) + int(plan.get("Rows Removed by Filter", 0))
    return own + sum(examined(child) for child in plan.get("Plans", []))


def test_a_wake_with_nothing_to_apply_examines_no_event_of_other_topics(store: tuple[str, int]) -> None:
    url, position = store
    # Given a runner of rare topics at its position, with 30,000 events of other topics after it
    query, params = page_query("chatassist_events", position, RARE, 500)
    with psycopg.connect(url, autocommit=True) as conn:
        # When it wakes again and again (more often than psycopg's threshold for preparing a statement)
        for _ in range(10):
            assert read_page(conn, "chatassist_events", position, RARE, 500) == []
        # I expect the read never prepared (a generic plan would filter every event after the position)
        prepared = conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
        assert prepared == (0,)
        # and PostgreSQL to look at a handful of rows for it, not the 30,000 between
        (plan,) = conn.execute(psycopg.sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) ") + query, params).fetchone() or [None]
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    assert examined(root) < 50, json.dumps(root, indent=1)


def test_the_rare_events_are_still_read_in_order(store: tuple[str, int]) -> None:
    url, _ = store
    with psycopg.connect(url, autocommit=True) as conn:
        page = read_page(conn, "chatassist_events", None, RARE, 500)
    assert [row.topic for row in page] == RARE[:3]
    assert [row.id for row in page] == sorted(row.id for row in page)
