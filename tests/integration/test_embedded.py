"""The embedded PostgreSQL and Redis keep their data across a clean restart and across a crash."""

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chatassist.embedded import EmbeddedServices, start_embedded

pytestmark = pytest.mark.embedded

CRASHING_CHILD = """
import os, sys, pathlib, psycopg, redis
from chatassist.embedded import start_embedded
services = start_embedded(pathlib.Path(sys.argv[1]))
with psycopg.connect(services.database_url) as conn:
    conn.execute("CREATE TABLE notes (body text)")
    conn.execute("INSERT INTO notes VALUES ('kept')")
client = redis.Redis.from_url(services.redis_url)
client.set("greeting", "kept")
print(client.info()["process_id"], client.connection_pool.connection_kwargs["path"], flush=True)
os._exit(1)  # no atexit, no stop: the servers are orphaned
"""


def write_row_and_key(services: EmbeddedServices) -> None:
    with psycopg.connect(services.database_url) as conn:
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
    with redis.Redis.from_url(services.redis_url) as client:
        client.set("greeting", "kept")


def assert_row_and_key(services: EmbeddedServices) -> None:
    with psycopg.connect(services.database_url) as conn:
        assert conn.execute("SELECT body FROM notes").fetchall() == [("kept",)]
    with redis.Redis.from_url(services.redis_url) as client:
        assert client.get("greeting") == b"kept"


def assert_stopped(services: EmbeddedServices) -> None:
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(services.database_url, connect_timeout=2)
    with (
        pytest.raises(redis.ConnectionError),
        redis.Redis.from_url(services.redis_url, retry=Retry(NoBackoff(), 0)) as client,
    ):
        client.ping()


def wait_until_dead(pid: int) -> None:
    """Wait until pid is gone or a zombie: PID 1 in a container may reap orphans late or never."""
    proc = psutil.Process(pid)
    for _ in range(200):
        with suppress(psutil.NoSuchProcess):
            if proc.status() != psutil.STATUS_ZOMBIE:
                time.sleep(0.05)
                continue
        return
    raise AssertionError(f"process {pid} survived SIGKILL")


def test_data_survives_a_clean_restart(tmp_path: Path) -> None:
    # Given a row and a key written to freshly started services
    services = start_embedded(tmp_path)
    try:
        write_row_and_key(services)
    finally:
        services.stop()
    services.stop()
    assert_stopped(services)

    # When they start again on the same directory
    again = start_embedded(tmp_path)
    try:
        # I expect the row and the key to be there
        assert_row_and_key(again)
    finally:
        again.stop()
    assert_stopped(again)


def test_data_survives_a_crash_and_a_reused_pid(tmp_path: Path) -> None:
    # Given a process that wrote a row and a key, then died without stopping anything
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert child.returncode == 1, child.stderr
    # and whose servers were then killed, leaving postmaster.pid naming a pid now used by another process
    pidfile = tmp_path / "postgres" / "postmaster.pid"
    redis_pid, redis_socket = child.stdout.split()
    server_pids = [int(pidfile.read_text().split()[0]), int(redis_pid)]
    for pid in server_pids:
        os.kill(pid, signal.SIGKILL)
        wait_until_dead(pid)
    lines = pidfile.read_text().splitlines()
    pidfile.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")

    # When the services start again on the same directory
    services = start_embedded(tmp_path)
    try:
        # I expect the row, and the key from the append-only file
        assert_row_and_key(services)
    finally:
        services.stop()
    # and stop() to stop them although the dead process is still listed as a user
    assert_stopped(services)
    shutil.rmtree(Path(redis_socket).parent)  # the killed Redis's tempdir (pid file, config)
