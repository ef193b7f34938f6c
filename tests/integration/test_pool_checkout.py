"""A pooled session the server ended while it sat idle is never handed to a caller (chatassist/pools.py).

The sessions are this test's own (named by their pid), ended with pg_terminate_backend as a PostgreSQL restart
ends them: no one else's session is touched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from chatassist.bootstrap import eventsourcing_env
from chatassist.pools import harden
from chatassist.settings import Settings
from commands.application import ChatAssistApp


@pytest.fixture
def app(database_url: str) -> Iterator[ChatAssistApp]:
    """An event store whose pool keeps 2 sessions open at rest, hardened as every process's is."""
    settings = Settings(db_pool_size=4, db_pool_min=2)
    application = ChatAssistApp(env=eventsourcing_env(settings, database_url))
    harden(application.recorder.datastore, settings, "web")  # type: ignore[attr-defined]
    try:
        yield application
    finally:
        application.close()


def backend_pids(pool: Any) -> set[int]:
    """The server pids of the pool's two idle sessions (both taken out, then put back)."""
    pids: set[int] = set()
    held: list[Any] = []
    for _ in range(2):
        conn = pool.getconn()
        held.append(conn)
        pids.add(conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])
    for conn in held:
        pool.putconn(conn)
    return pids


def test_a_session_ended_by_the_server_while_idle_is_replaced_at_checkout(
    app: ChatAssistApp, database_url: str
) -> None:
    # Given a pool with two idle sessions
    pool = app.recorder.datastore.pool  # type: ignore[attr-defined]
    idle = backend_pids(pool)
    assert len(idle) == 2
    # When the server ends both (as a restart does) while they sit in the pool
    with psycopg.connect(make_conninfo(database_url), autocommit=True) as admin:
        for pid in idle:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (list(idle),)).fetchone()[0]:
            assert time.monotonic() < deadline, "the sessions did not end"
            time.sleep(0.05)
    # Then each caller gets a live session at the first try, not one the server ended
    for _ in range(3):
        with pool.connection() as conn:
            pid = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        assert pid not in idle
