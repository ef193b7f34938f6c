"""The real stack for the fault matrix: PostgreSQL and Redis servers of our own (embedded, in a temp dir, so they can
be stopped without touching anyone else's), the fake providers, and `chatassist web` (two), `worker` and
`projections run` as separate processes, each of which a scenario may kill and start again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.chat_turns import free_port
from chatassist import embedded_servers as servers
from chatassist.bootstrap import PROJECTIONS as BOOT_PROJECTIONS
from tests.conftest import TEST_SECRET_KEY, data_root
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_restart_and_cli import cli_env
from tests.support.runner_locks import lock_holders

PROVIDER_TIMEOUT_S = 1.5
DATABASE = "chatassist"
GENEROUS = "100000/60"  # the rate limits: the matrix counts faults, not refusals
MAX_CONNECTIONS = 400
PROJECTIONS = 6  # transcripts, usage, analytics, audit, monitor, knowledge


def poll(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """The first truthy ``condition()``, or fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


class Process:
    """One `python -m chatassist.cli ...` child with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.killed = False  # by a scenario, on purpose

    def start(self) -> Process:
        """Start it (again): its output goes on at the end of its log."""
        self.killed = False
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "chatassist.cli", *self.args],
                cwd=data_root(),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        """The process id (started)."""
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        """Started and not exited."""
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no chance to finish anything."""
        self.killed = True
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in 20 s."""
        if self.alive():
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 40) -> str:
        """The end of its log (for failure messages)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (pid {self.popen.pid if self.popen else '-'}) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )


class Stack:
    """Our PostgreSQL and Redis, the fake providers and the ChatAssist processes (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pgdata, self.redis_dir, self.logs = root / "pg", root / "redis", root / "logs"
        self.redis_dir.mkdir(parents=True)
        self.logs.mkdir()
        self.fake = FakeLLMServer().start()
        socket_dir = servers.start_postgres(self.pgdata)
        admin = f"postgresql://postgres@/postgres?host={socket_dir}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}".encode())
            # four processes at the default pool sizes peak above the default 100 under load (issue 12, part 3)
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}".encode())
        servers.stop_postgres(self.pgdata)
        servers.start_postgres(self.pgdata)
        self.database_url = f"postgresql://postgres@/{DATABASE}?host={socket_dir}"
        self.redis_url = f"unix://{servers.start_redis(self.redis_dir)}"
        self.env = cli_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CHATASSIST_SECRET_KEY=TEST_SECRET_KEY,
            CHATASSIST_DATA_DIR=str(root / "data"),
            ANTHROPIC_API_KEY="test-anthropic-key",
            CHATASSIST_DECISION_JUDGE="false",  # the fake scripts the chat, not the LLM judge
            OPENAI_API_KEY="test-openai-key",
            ANTHROPIC_BASE_URL=self.fake.anthropic_base_url,
            OPENAI_BASE_URL=self.fake.openai_base_url,
            CHATASSIST_PROVIDER_TIMEOUT_S=str(PROVIDER_TIMEOUT_S),
            CHATASSIST_RETRY_BASE_DELAY_S="0.01",
            CHATASSIST_WORKSPACE_CACHE_S="0",
            CHATASSIST_DB_POOL_SIZE="2",
            CHATASSIST_RATE_CHAT_PER_USER=GENEROUS,
            CHATASSIST_RATE_CHAT_PER_IP=GENEROUS,
            CHATASSIST_RATE_NEW_CONVERSATIONS_PER_IP=GENEROUS,
            CHATASSIST_RATE_NEW_CONVERSATIONS_PER_WORKSPACE=GENEROUS,
            CHATASSIST_RATE_SIGNUPS_PER_IP="0",
            CHATASSIST_SIGNIN_FAILURES_PER_IP="0",
            CHATASSIST_ANONYMOUS_DAILY_BUDGET_SHARE="0",
        )
        self.ports = {"web-a": free_port(), "web-b": free_port()}
        self.processes: dict[str, Process] = {
            name: Process(name, ["web", "--port", str(port)], self.env, self.logs) for name, port in self.ports.items()
        }
        # the `projections run` replica starts first, so it is the active runner of every projection; the worker's
        # runners are the standbys (and it runs the Dramatiq actors and the integrations outbox)
        self.processes["projections"] = Process("projections", ["projections", "run"], self.env, self.logs)
        self.processes["worker"] = Process("worker", ["worker", "--threads", "2"], self.env, self.logs)

    # --- lifecycle --------------------------------------------------------------------------------------------------

    def start(self) -> Stack:
        """Start every process and wait until the web processes answer /health: `projections run` and the web
        processes first (migrating under the advisory lock), the worker once `projections run` is the active runner
        of every projection (so the worker's runners are the standbys)."""
        for name in ("projections", "web-a", "web-b"):
            self.processes[name].start()
        poll(lambda: self.all_runners_in("projections"), 180, "every projection active in `projections run`")
        self.processes["worker"].start()
        for name in ("web-a", "web-b"):
            self.wait_healthy(name)
        return self

    def close(self) -> None:
        """Stop every process and server, whatever state a scenario left them in."""
        for process in self.processes.values():
            process.kill()  # their data is thrown away: nothing to finish
        self.fake.stop()
        servers.stop_redis(self.redis_dir)
        servers.stop_postgres(self.pgdata)

    def url(self, name: str) -> str:
        """The base URL of a web process."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def wait_healthy(self, name: str, timeout: float = 120) -> None:
        """Until the web process answers /health (failing at once if it exited)."""

        def healthy() -> bool:
            assert self.processes[name].alive(), self.processes[name].tail()
            try:
                return httpx.get(self.url(name) + "/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        poll(healthy, timeout, f"{name} healthy")

    def diagnostics(self) -> str:
        """Every process's log tail."""
        return "\n".join(p.tail() for p in self.processes.values())

    # --- the servers' faults ----------------------------------------------------------------------------------------

    def stop_postgres(self) -> None:
        """A fast shutdown of our PostgreSQL: every session is ended."""
        servers.stop_postgres(self.pgdata)

    def start_postgres(self) -> None:
        """Start it again on the same data and socket."""
        servers.start_postgres(self.pgdata)

    def stop_redis(self) -> None:
        """Our Redis saves and exits."""
        servers.stop_redis(self.redis_dir)

    def start_redis(self) -> None:
        """Start it again on the same data and socket."""
        servers.start_redis(self.redis_dir)

    # --- what PostgreSQL says ---------------------------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one statement, on a connection of its own (closed at once)."""
        with psycopg.connect(self.database_url, connect_timeout=10) as conn:
            return conn.execute(sql.encode(), params or None).fetchall()

    def active_runners(self) -> dict[int, int]:
        """Process id -> how many projection runner locks it holds (tests/support/runner_locks.py)."""
        try:
            with psycopg.connect(self.database_url, connect_timeout=10) as conn:
                holders = lock_holders(conn, [projection.name for projection, _ in BOOT_PROJECTIONS.values()])
        except psycopg.OperationalError:
            return {}
        return dict(Counter(holders.values()))

    def all_runners_in(self, name: str) -> bool:
        """True when the process ``name`` is the active runner of every projection."""
        return self.active_runners() == {self.processes[name].pid: PROJECTIONS}

    def connections(self) -> int:
        """Sessions on our database (every process of the stack)."""
        return int(self.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")[0][0]) - 1


def environment_note() -> str:
    """One line on where the run happened (for the report)."""
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
