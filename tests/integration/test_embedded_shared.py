"""Laptop mode as a new user meets it: `chatassist up` on the embedded servers, and other commands run beside it.

Real subprocesses on temp data directories with no DATABASE_URL / REDIS_URL (the embedded default), as
docs/adr/0014-shared-embedded-servers.md describes: every process on a data directory holds a lease, the last to
leave stops the servers, and a running process restarts a server that died.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from chatassist.embedded import start_embedded
from chatassist.embedded_servers import postgres_pid, redis_pid
from tests.conftest import chat, data_root
from tests.integration.test_embedded import assert_stopped, wait_until_dead
from tests.integration.test_restart_and_cli import cli_env, poll, run_cli

pytestmark = pytest.mark.embedded
SLOW = 180  # seconds: generous, for a loaded 2-core machine (a command takes ~4 s on a quiet one)


@dataclass
class Up:
    """A running `chatassist up` subprocess."""

    proc: subprocess.Popen[str]
    data_dir: Path
    base_url: str
    stderr: Path
    not_ready: list[str] = field(default_factory=list)  # /ready answers other than 200 while watched

    def env(self) -> dict[str, str]:
        """The environment of a CLI command beside this server: the same data directory, nothing configured."""
        return cli_env(CHATASSIST_DATA_DIR=str(self.data_dir))

    def ready(self, timeout: float = 10.0) -> str:
        """The status of GET /ready, or the error that got in the way."""
        try:
            return str(httpx.get(f"{self.base_url}/ready", timeout=timeout).status_code)
        except httpx.HTTPError as err:
            return f"{type(err).__name__}: {err}"

    def log(self) -> str:
        return self.stderr.read_text()

    def wait_ready(self) -> None:
        """Until GET /ready answers 200 (asserts the process did not exit first)."""
        poll(lambda: self.proc.poll() is not None or self.ready() == "200", timeout=SLOW, interval=0.2)
        assert self.proc.poll() is None, self.log()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_up(data_dir: Path) -> Iterator[Up]:
    """`chatassist up` on data_dir (no DATABASE_URL/REDIS_URL), ready; stopped with SIGTERM after."""
    with started_up(data_dir) as up:
        up.wait_ready()
        yield up


@contextmanager
def started_up(data_dir: Path) -> Iterator[Up]:
    """`chatassist up` on data_dir (no DATABASE_URL/REDIS_URL), just started; stopped with SIGTERM after."""
    port, stderr = free_port(), data_dir.parent / f"{data_dir.name}.stderr"
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chatassist.cli", "up", "--port", str(port)],
            cwd=data_root(),
            env=cli_env(CHATASSIST_DATA_DIR=str(data_dir)),
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    up = Up(proc, data_dir, f"http://127.0.0.1:{port}", stderr)
    try:
        yield up
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


@contextmanager
def watching_ready(*ups: Up) -> Iterator[None]:
    """Poll each server's /ready every 0.2 s in a thread; record every answer that is not 200."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            for up in ups:
                status = up.ready()
                if status != "200":
                    up.not_ready.append(status)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def a_reply(up: Up, widget_key: str) -> str:
    """Chat once through the running server; the reply's text (asserts the turn ended with `done`)."""
    with httpx.Client(base_url=up.base_url, timeout=30) as client:
        events = chat(client, widget_key, "How do I reset my password?")
    assert events[0][0] == "start" and events[-1][0] == "done", events
    return "".join(data["text"] for name, data in events if name == "delta")


def use_beside(up: Up) -> str:
    """Every command a new user runs beside `up`, each asserted to exit 0; returns the new workspace's widget key."""
    created = json.loads(run_cli("workspaces", "create", "Acme", "--json", env=up.env(), timeout=SLOW).stdout)
    seeded = run_cli(
        "seed", "--conversations", "5", "--workspace", created["workspace_id"], "--json", env=up.env(), timeout=SLOW
    )
    assert json.loads(seeded.stdout)["conversations"] == 5
    shown = json.loads(run_cli("config", env=up.env()).stdout)
    assert shown["settings"]["data_dir (CHATASSIST_DATA_DIR)"] == str(up.data_dir)
    statuses = json.loads(run_cli("projections", "status", env=up.env(), timeout=SLOW).stdout)
    assert {s["name"] for s in statuses} >= {"transcripts", "usage", "analytics"}
    return str(created["widget_key"])


def test_commands_beside_two_running_servers_leave_them_working(tmp_path: Path) -> None:
    # Given two `chatassist up` at once, each on a data directory of its own with embedded servers
    with ExitStack() as stack:
        ups = [stack.enter_context(started_up(tmp_path / name)) for name in ("first", "second")]
        for up in ups:
            up.wait_ready()
        servers = [(postgres_pid(up.data_dir / "postgres"), redis_pid(up.data_dir / "redis")) for up in ups]
        assert len({pid for pair in servers for pid in pair if pid}) == 4, servers  # four servers, none shared

        # When a user creates a workspace, seeds it, prints the config and the projections' status beside each
        with watching_ready(*ups), ThreadPoolExecutor(len(ups)) as pool:
            keys = list(pool.map(use_beside, ups))  # beside both at once

        # I expect each server to have stayed ready throughout, on the very servers it started
        for up, pids in zip(ups, servers, strict=True):
            assert up.not_ready == [], up.not_ready
            assert (postgres_pid(up.data_dir / "postgres"), redis_pid(up.data_dir / "redis")) == pids
        # and a chat through each running server with the new workspace's widget key to be answered
        for up, key in zip(ups, keys, strict=True):
            assert "password" in a_reply(up, key).lower()
            assert up.ready() == "200" and up.proc.poll() is None
    # and, once both are stopped, their servers to be stopped too (nobody else holds a lease)
    for pg, rd in servers:
        assert pg is not None and rd is not None
        assert not psutil.pid_exists(pg) or psutil.Process(pg).status() == psutil.STATUS_ZOMBIE
        assert not psutil.pid_exists(rd) or psutil.Process(rd).status() == psutil.STATUS_ZOMBIE


def test_a_running_server_restarts_embedded_servers_killed_under_it(tmp_path: Path) -> None:
    # Given a running `chatassist up` and a workspace
    with running_up(tmp_path / "data") as up:
        key = use_beside_quickly(up)
        assert a_reply(up, key)
        # When its PostgreSQL and its Redis are killed with SIGKILL
        for pid in (postgres_pid(up.data_dir / "postgres"), redis_pid(up.data_dir / "redis")):
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            wait_until_dead(pid)
        # I expect it to say so and restart them, to be ready again, and to answer a chat, without a restart of `up`
        poll(lambda: "restarted" in up.log() and up.ready() == "200", timeout=SLOW, interval=0.5)
        poll(lambda: postgres_pid(up.data_dir / "postgres") is not None, timeout=5)
        assert redis_pid(up.data_dir / "redis") is not None
        assert "stopped unexpectedly: restarting" in up.log()
        deadline = time.monotonic() + SLOW
        while True:  # the pools' connections to the dead server are replaced as they are found broken
            try:
                assert a_reply(up, key)
                break
            except (AssertionError, httpx.HTTPError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        assert up.proc.poll() is None


def use_beside_quickly(up: Up) -> str:
    """A workspace created beside `up`; its widget key."""
    created = run_cli("workspaces", "create", "Acme", "--json", env=up.env(), timeout=SLOW)
    return str(json.loads(created.stdout)["widget_key"])


LEAVING_CHILD = textwrap.dedent(
    """
    import pathlib, sys, psycopg, redis
    from chatassist.embedded import start_embedded
    services = start_embedded(pathlib.Path(sys.argv[1]))
    print("joined", flush=True)
    sys.stdin.readline()  # until told to go on
    with psycopg.connect(services.database_url) as conn:
        conn.execute("SELECT 1")
    redis.Redis.from_url(services.redis_url).ping()
    print("still working", flush=True)
    sys.stdin.readline()
    """
)


def test_the_last_process_to_leave_stops_the_servers(tmp_path: Path) -> None:
    # Given this process on the embedded servers, and a second process that joins them
    services = start_embedded(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", LEAVING_CHILD, str(tmp_path)],
        cwd=data_root(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "joined\n"
        # When this process, which started them, leaves first
        services.stop()
        # I expect the other process to go on using both servers
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline() == "still working\n"
        # and, when it leaves too (the last one), both servers to stop
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.wait(60) == 0
    finally:
        child.kill()
    assert_stopped(services)


def test_a_running_server_exits_with_a_message_when_a_killed_server_cannot_be_restarted(tmp_path: Path) -> None:
    # Given a running `chatassist up` whose PostgreSQL will refuse to start again (a setting it cannot parse)
    with running_up(tmp_path / "data") as up:
        pgdata = up.data_dir / "postgres"
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\nshared_buffers = 'plenty'\n")
        redis = redis_pid(up.data_dir / "redis")
        # When its PostgreSQL is killed with SIGKILL
        pid = postgres_pid(pgdata)
        assert pid is not None and redis is not None
        os.kill(pid, signal.SIGKILL)
        # I expect `up` to give up after a few attempts and exit with status 3 and a message naming what stopped
        assert up.proc.wait(SLOW) == 3
        assert "error: the embedded postgresql under" in up.log() and "could not be restarted" in up.log()
        # having stopped the Redis nobody else uses, rather than leaving it behind
        assert not psutil.pid_exists(redis) or psutil.Process(redis).status() == psutil.STATUS_ZOMBIE
