"""Bounded waits on PostgreSQL and Redis, and the connection budget of each process kind (docs/operations.md).

A request never waits long on a dependency that is down: the process's one PostgreSQL pool gives up after
CHATASSIST_DB_POOL_TIMEOUT_S, and as soon as one of its connection attempts has failed it stops waiting at all
(``BoundedPool``) until an attempt succeeds again, so that the event store's own retries (ten attempts per call)
add up to a couple of seconds, not ten pool waits. Redis clients on the request path connect and read with a
timeout. The pool reconnects by itself: nothing needs a restart when the server returns.

A connection taken from the pool is checked first (``ended_by_server``): a session the server ended while it sat
idle in the pool (a restart, an administrator's terminate) has left its socket readable, and is replaced before a
request uses it. The check is one poll of the socket, no round trip (docs/performance.md, "Checkout check").
"""

from __future__ import annotations

import os
import select
from time import monotonic
from typing import Any

from eventsourcing.postgres import ConnectionPool
from psycopg_pool import PoolTimeout

from chatassist.runner_sessions import PAGES_POOL_MAX
from chatassist.settings import Settings

UNREACHABLE_S = 3.0  # after a failed connection attempt, how long a caller is refused at once (none waits)
SLICE_S = 0.2  # a waiting caller looks again this often whether an attempt has failed meanwhile


class BoundedPool(ConnectionPool):
    """The event store's pool, failing fast while the server is unreachable (see the module docstring)."""

    _failed_at = -1e9
    _ok_at = 0.0

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            conn = super()._connect(timeout=timeout)
        except Exception:
            self._failed_at = monotonic()
            raise
        self._ok_at = monotonic()
        return conn

    def unreachable(self) -> bool:
        """A connection attempt failed in the last UNREACHABLE_S, none succeeded since, and none is idle."""
        return self._failed_at > self._ok_at and monotonic() - self._failed_at < UNREACHABLE_S and not self._pool

    def getconn(self, timeout: float | None = None) -> Any:
        """A live connection within ``timeout`` (default: the pool's), or PoolTimeout; at once while unreachable.
        An idle connection the server has ended meanwhile is closed and replaced, never handed out."""
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if self.unreachable():
                with self._lock:
                    self._maybe_grow_pool()  # one attempt in the background: the next caller may find it back
                raise PoolTimeout("the database is unreachable (a connection attempt failed just now)")
            left = deadline - monotonic()
            try:
                conn = super().getconn(timeout=max(min(SLICE_S, left), 0.001))
            except PoolTimeout:
                if monotonic() >= deadline:
                    raise PoolTimeout(f"no database connection came free within {self.timeout:.1f} s") from None
                continue
            if not ended_by_server(conn):
                return conn
            self.putconn(conn)  # closed: the pool discards it and opens a replacement in the background


def ended_by_server(conn: Any) -> bool:
    """True if ``conn`` is closed, or the server ended its session while it sat idle (then it is closed here).

    An idle session's socket has nothing to read unless the server wrote to it unasked: on a shutdown or a
    terminate, its FATAL error and the end of the stream. So one poll of the socket (no round trip) tells the live
    ones; a readable one gets an empty query to be sure (a notice alone leaves it usable)."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if not poller.poll(0):
        return False
    try:
        conn.execute("")
    except Exception:  # psycopg.OperationalError and the like: the session is gone
        conn.close()
        return True
    return False


def harden(datastore: Any, settings: Settings, kind: str) -> Any:
    """Bound every wait on an eventsourcing datastore's pool: the wait for a free connection, libpq's connect timeout,
    TCP keepalives (a vanished server is noticed), the statement timeout, a reconnect that gives up after 5 s (and
    starts again on the next request) rather than backing off for minutes. Its sessions are named
    ``chatassist <kind> pid <pid>`` in pg_stat_activity."""
    pool, name = datastore.pool, f"chatassist {kind} pid {os.getpid()}"
    pool.__class__ = BoundedPool
    with pool._lock:  # the sessions it opened already (creating the tables) get the name too
        idle = list(pool._pool)
    for conn in idle:
        conn.execute("SELECT set_config('application_name', %s, false)", (name,))
    pool.kwargs.update(
        connect_timeout=max(2, settings.db_connect_timeout_s),
        application_name=name,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
    )
    if settings.db_statement_timeout_s > 0 and kind != "cli":  # one-off commands (seed, export) may run long
        pool.kwargs["options"] = f"-c statement_timeout={int(settings.db_statement_timeout_s * 1000)}"
    pool.timeout = settings.db_pool_timeout_s
    pool.reconnect_timeout = 5.0
    pool.max_idle = 60.0  # what a burst opened is closed again, one a minute, down to db_pool_min
    return datastore


def redis_options(settings: Settings) -> dict[str, Any]:
    """Connect and reply timeouts of the request path's Redis clients: a Redis that does not answer costs a request
    at most this long (the rate limits then let it through)."""
    return {"socket_connect_timeout": settings.redis_timeout_s, "socket_timeout": settings.redis_timeout_s}


PROJECTION_COUNT = 6  # transcripts, usage, analytics, audit, monitor, knowledge (chatassist.bootstrap.PROJECTIONS)
READER_POOL = 2  # the web's dashboard reads from the event loop (read_api/_reads.py AsyncReader), opened on use
# the runners of a process, however many: one session for their locks and wake-ups, and a pages pool of 1 to 2
# (chatassist/runner_sessions.py)
RUNNERS_AT_REST, RUNNERS_AT_MOST = 1 + 1, 1 + PAGES_POOL_MAX
# a process without runners opens that session alone on its first personal-data key read: the LISTEN that drops an
# erased conversation's key from its cache at once (ADR 0052); the keys' statements run on the shared pool
LISTENER = 1


def connection_budget(settings: Settings, worker_threads: int = 4) -> dict[str, Any]:
    """The most PostgreSQL connections each process kind holds, and the least it keeps open at rest (its dedicated
    sessions and the pools' minimums; what a burst opened closes again after a minute idle, one a minute) (docs/
    operations.md, "Connections"). ``pool``: the process's one shared pool (CHATASSIST_DB_POOL_SIZE)."""
    pool, idle = settings.db_pool_size, max(1, min(settings.db_pool_min, settings.db_pool_size))
    kinds = {
        "web": {"at_most": pool + READER_POOL + LISTENER, "at_rest": idle + LISTENER},
        "worker": {"at_most": pool + RUNNERS_AT_MOST, "at_rest": idle + RUNNERS_AT_REST},
        "worker --actors-only": {"at_most": pool + LISTENER, "at_rest": idle},
        "projections run": {"at_most": pool + RUNNERS_AT_MOST, "at_rest": idle + RUNNERS_AT_REST},
        # the leader's lock; each job's own session
        "scheduler": {"at_most": pool + 1 + 5 + LISTENER, "at_rest": idle + 1},
        "up": {
            "at_most": pool + READER_POOL + RUNNERS_AT_MOST + 1 + 5,
            "at_rest": idle + RUNNERS_AT_REST + 1,
        },
    }
    return {
        "pool_size": pool,
        "pool_min": idle,
        "pool_timeout_s": settings.db_pool_timeout_s,
        "connect_timeout_s": max(2, settings.db_connect_timeout_s),
        "statement_timeout_s": settings.db_statement_timeout_s,
        "redis_timeout_s": settings.redis_timeout_s,
        "per_process": kinds,
        "note": f"worker threads share the pool: keep CHATASSIST_DB_POOL_SIZE >= worker --threads ({worker_threads})",
    }
