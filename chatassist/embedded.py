"""Embedded PostgreSQL and Redis for laptop mode, kept under one data directory and shared by every process on it.

Each process that uses them holds a lease (a locked file under ``<data dir>/leases``); the last one to leave stops
them, so a CLI command run beside ``chatassist up`` never stops what ``up`` still uses, and ``up`` leaving first
leaves them to the command. A lease dies with its process (the kernel drops the lock), so a crashed process never
keeps the servers up forever. See docs/adr/0014-shared-embedded-servers.md.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import fasteners
import psycopg
from psycopg import sql

from chatassist import embedded_servers as servers

log = logging.getLogger("chatassist.embedded")
_local_lock = threading.Lock()  # fasteners' file lock excludes processes, not threads (and must not nest)
_held: set[Path] = set()  # this process's leases: a lock test from the holder would always succeed


class EmbeddedServices:
    """Connection URLs of the running embedded servers, and this process's lease on them."""

    def __init__(self, data_dir: Path, database: str, sockets: tuple[Path, Path], lease: _Lease) -> None:
        self.data_dir, self._sockets = data_dir, sockets
        self.database_url = _pg_url(sockets[0], database)
        self.redis_url = f"unix://{quote(str(sockets[1]))}"
        self._lease, self._owner, self._left = lease, os.getpid(), False
        self._watching = threading.Event()
        atexit.register(self.stop)

    def __repr__(self) -> str:
        return f"EmbeddedServices({self.data_dir})"

    def stop(self) -> None:
        """Leave: release this process's lease and, if no other process holds one, stop both servers (Redis saves
        first). Idempotent; a no-op in a forked child, which inherits the object but not the lease."""
        if self._left or os.getpid() != self._owner:
            return
        self._left = True
        self._watching.clear()
        atexit.unregister(self.stop)
        with _start_lock(self.data_dir):
            self._lease.release()
            others = live_leases(self.data_dir)
            if others:
                log.info("embedded servers left running for %d other process(es) on %s", others, self.data_dir)
                return
            try:
                servers.stop_redis(self.data_dir / "redis")
            finally:
                servers.stop_postgres(self.data_dir / "postgres")
        log.info("stopped PostgreSQL and Redis of %s", self.data_dir)

    def dead(self) -> list[str]:
        """The servers that are not running (by their pid files): "postgresql", "redis"."""
        down = []
        if servers.postgres_pid(self.data_dir / "postgres") is None:
            down.append("postgresql")
        if servers.redis_pid(self.data_dir / "redis") is None:
            down.append("redis")
        return down

    def restart(self) -> None:
        """Start whichever server is not running, at the same socket paths, so that clients reconnect."""
        with _start_lock(self.data_dir):
            if self._left:  # left meanwhile (and perhaps stopped them): nothing to restart for
                return
            sockets = servers.start_postgres(self.data_dir / "postgres"), servers.start_redis(self.data_dir / "redis")
        if sockets != self._sockets:
            raise servers.EmbeddedError("the restarted servers listen on other sockets than before")

    def watch(self, on_fatal: Callable[[str], None], interval: float = 1.0, attempts: int = 5) -> None:
        """In a daemon thread: every ``interval`` s, restart a server that died (kill -9, OOM); call ``on_fatal``
        with a message if it cannot be restarted after ``attempts`` tries. Ends when this process leaves."""
        self._watching.set()

        def loop() -> None:
            while self._watching.is_set():
                time.sleep(interval)
                down = self._watching.is_set() and self.dead()
                if down:
                    self._revive(down, on_fatal, attempts)

        threading.Thread(target=loop, name="embedded-watchdog", daemon=True).start()

    def _revive(self, down: list[str], on_fatal: Callable[[str], None], attempts: int) -> None:
        log.error("embedded %s of %s stopped unexpectedly: restarting", " and ".join(down), self.data_dir)
        for attempt in range(1, attempts + 1):
            try:
                self.restart()
                log.warning("embedded %s restarted", " and ".join(down))
                return
            except Exception as err:  # a dead server's backends may hold its shared memory a moment longer
                log.warning("restart %d of %d failed: %s", attempt, attempts, err)
                if attempt < attempts:
                    time.sleep(attempt)
        message = (
            f"the embedded {' and '.join(down)} under {self.data_dir} stopped and could not be restarted; see "
            f"{self.data_dir / 'postgres' / 'log'} and {self.data_dir / 'redis' / 'redis.log'}"
        )
        try:
            self.stop()  # leave, stopping the survivor if nobody else uses it
        except Exception:
            log.exception("could not stop the embedded servers")
        on_fatal(message)


def start_embedded(data_dir: Path, *, database: str = "chatassist") -> EmbeddedServices:
    """Start (or join) embedded PostgreSQL under data_dir/postgres and Redis under data_dir/redis; create `database`
    if missing. The caller holds a lease until ``stop()`` (or its exit)."""
    data_dir = data_dir.expanduser().resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with _start_lock(data_dir):  # processes booting at once share; one leaving waits for one joining
        lease = _Lease.take(data_dir)
        try:
            socket_dir = servers.start_postgres(data_dir / "postgres")
            _ensure_database(_pg_url(socket_dir, "postgres"), database)
            socket = servers.start_redis(data_dir / "redis")
        except BaseException:
            lease.release()
            if not live_leases(data_dir):
                servers.stop_postgres(data_dir / "postgres")
            raise
    log.info("embedded services up in %.2fs", time.monotonic() - began)
    return EmbeddedServices(data_dir, database, (socket_dir, socket), lease)


def live_leases(data_dir: Path) -> int:
    """How many leases on data_dir's servers are held by live processes (this one's included); removes dead ones.
    Call under the start lock."""
    count = 0
    for path in sorted((data_dir / "leases").glob("*.lease")):
        if path in _held:
            count += 1
            continue
        probe = fasteners.InterProcessLock(str(path))
        if probe.acquire(blocking=False):  # nobody holds it: its process is gone
            probe.release()
            path.unlink(missing_ok=True)
        else:
            count += 1
    return count


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    with _local_lock, fasteners.InterProcessLock(str(data_dir / ".start.lock")):
        yield


class _Lease:
    """A file under <data dir>/leases, locked while this process uses the servers."""

    def __init__(self, path: Path) -> None:
        self.path, self.lock = path, fasteners.InterProcessLock(str(path))

    @classmethod
    def take(cls, data_dir: Path) -> _Lease:
        (data_dir / "leases").mkdir(exist_ok=True)
        lease = cls(data_dir / "leases" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.lease")
        lease.lock.acquire()
        _held.add(lease.path)
        return lease

    def release(self) -> None:
        _held.discard(self.path)
        self.lock.release()
        self.path.unlink(missing_ok=True)


def _ensure_database(admin_url: str, database: str) -> None:
    """Create `database` unless it exists."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            log.info("created database %s", database)


def _pg_url(socket_dir: Path, database: str) -> str:
    """A libpq URI over the unix socket in socket_dir."""
    return f"postgresql://postgres@/{quote(database, safe='')}?host={quote(str(socket_dir), safe='/')}"
