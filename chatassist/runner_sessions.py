"""The projection runners of a process share two things instead of a session each (docs/operations.md, "Connections").

- **One session for their locks and wake-ups** (``RunnerSessions``): it holds the session-level advisory lock of
  every runner that is active in this process, polls for the locks of those that are standbys, and LISTENs on the
  event store's channel, waking the runners that wait on it. If the session dies, every lock it held goes with it
  (a standby elsewhere takes over) and every runner of this process is told (``Lease.check`` raises ``LeaseLost``).
- **A small pool for their pages** (``RunnerSessions.page``): a page is read and applied on a connection taken from
  it for that page only, with ``synchronous_commit = off`` and no statement timeout (a page may take longer than a
  request should). A page's own transaction-level lock and position check (projections/_paging.py) keep each event
  applied once, whichever connection the page runs on.

A worker that runs six projections and the integrations follower holds 3 sessions at rest this way (the shared pool's
minimum, this one, one pages connection), not 8.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

log = logging.getLogger("chatassist.projections")
PAGES_POOL_MAX = 2  # pages of different projections in parallel (a page holds one only while it reads and commits)
RECONNECT_S = 1.0
# a psycopg pool's ``kwargs``: a dict, a function returning one (psycopg_pool's typing), or none
PoolKwargs = dict[str, Any] | Callable[[], dict[str, Any]] | None
TRY_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held"
UNLOCK_SQL = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"


class LeaseLost(psycopg.OperationalError):
    """The shared session holding a runner's lock ended: the runner is a standby again."""


def session_kwargs(pool_kwargs: PoolKwargs, **overrides: Any) -> dict[str, Any]:
    """A dedicated autocommit session's connection arguments, from a pool's: without the pool's statement timeout
    (a page of a projection, a rebuild may take longer than a request should)."""
    given = pool_kwargs() if callable(pool_kwargs) else (pool_kwargs or {})
    kwargs = {k: v for k, v in given.items() if k != "options"}
    return {**kwargs, "autocommit": True, **overrides}


@dataclass
class Lease:
    """A runner's hold on its lock in the shared session: ``wake`` is set when events are appended."""

    key: str
    channel: str
    held: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    lost: bool = False

    def check(self) -> None:
        """Raise ``LeaseLost`` if the session that held the lock ended."""
        if self.lost:
            raise LeaseLost(f"the session holding {self.key} ended")


@dataclass(frozen=True)
class Subscription:
    """A LISTEN of the shared session for someone other than a runner (the personal data keys' cache, ADR 0052):
    ``notice`` gets each payload on ``channel``; ``listening`` True once the LISTEN is in force, False when the
    session ended (notices may have been missed until it is True again)."""

    channel: str
    notice: Callable[[str], None]
    listening: Callable[[bool], None]


class RunnerSessions:
    """The lock-and-wake session and the pages pool of the runners of one process (see the module docstring)."""

    def __init__(self, pool_kwargs: PoolKwargs, *, poll_s: float = 0.5, pages_max: int = PAGES_POOL_MAX) -> None:
        self.poll_s = poll_s
        pid = os.getpid()
        self._kwargs = session_kwargs(pool_kwargs, application_name=f"chatassist projection runners pid {pid}")
        self.pages = ConnectionPool(
            kwargs=session_kwargs(pool_kwargs, application_name=f"chatassist projection pages pid {pid}"),
            min_size=1,
            max_size=pages_max,
            max_idle=60.0,
            reconnect_timeout=5.0,
            timeout=5.0,
            configure=_page_session,
            open=False,
            name="projection-pages",
        )
        self._leases: dict[str, Lease] = {}
        self._subscriptions: list[Subscription] = []
        self._released: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pages_open = False

    # --- what a runner calls ------------------------------------------------------------------------------------

    def acquire(self, key: str, channel: str, stopping: threading.Event) -> Lease | None:
        """Block until this process's session holds the advisory lock ``key`` (the lease) or ``stopping`` is set
        (None). The lease's ``wake`` is set by each notification on ``channel``."""
        self._start()
        while not stopping.is_set() and not self._stopping.is_set():
            with self._lock:  # asked again after each wait: a session that ended forgot what it was asked
                lease = self._leases.get(key)
                if lease is None:
                    lease = self._leases[key] = Lease(key, channel)
            if lease.held.wait(0.1):
                return lease
        return None

    def subscribe(self, subscription: Subscription) -> None:
        """LISTEN on ``subscription.channel`` in the shared session (started now if no runner has yet)."""
        with self._lock:
            self._subscriptions.append(subscription)
        self._start(pages=False)

    def release(self, key: str) -> None:
        """Give up the lock ``key`` (a runner stopping): another replica may take over."""
        with self._lock:
            if self._leases.pop(key, None) is not None:
                self._released.append(key)

    @contextmanager
    def page(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the pages pool for one page."""
        with self.pages.connection() as conn:
            yield conn

    def close(self) -> None:
        """End the session (its locks go with it) and close the pages pool."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
        self.pages.close()

    # --- the session's thread -----------------------------------------------------------------------------------

    def _start(self, *, pages: bool = True) -> None:
        with self._lock:
            if pages and not self._pages_open:  # a subscriber alone (a web process) needs no pages connection
                self.pages.open(wait=False)
                self._pages_open = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="projection-runners-session", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(**self._kwargs) as conn:
                    self._serve(conn)
            except psycopg.Error as err:
                log.warning("projection runners: lost the database connection (%s); reconnecting", err)
            finally:
                self._lose_all()
            self._stopping.wait(RECONNECT_S)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        """Take the locks asked for, LISTEN on their channels, wake their runners; until stopped or the session ends."""
        listening: set[str] = set()
        heard: list[Subscription] = []
        while not self._stopping.is_set():
            with self._lock:
                released, self._released = self._released, []
                wanted = [lease for lease in self._leases.values() if not lease.held.is_set()]
                channels = {lease.channel for lease in self._leases.values()}
                subscriptions = list(self._subscriptions)
            for key in released:
                conn.execute(UNLOCK_SQL, (key,))
            for channel in (channels | {s.channel for s in subscriptions}) - listening:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                listening.add(channel)
            for subscription in subscriptions:
                if subscription not in heard:
                    subscription.listening(True)  # after its LISTEN: nothing committed from now on is missed
                    heard.append(subscription)
            for lease in wanted:
                row = conn.execute(TRY_LOCK_SQL, (lease.key,)).fetchone()
                if row and row["held"]:
                    lease.held.set()
            timeout = self.poll_s if wanted else 0.25  # a standby asks again every poll_s
            for notice in conn.notifies(timeout=timeout, stop_after=1):
                self._wake(notice.channel)
                for subscription in heard:
                    if subscription.channel == notice.channel:
                        subscription.notice(notice.payload)

    def _wake(self, channel: str) -> None:
        with self._lock:
            for lease in self._leases.values():
                if lease.channel == channel:
                    lease.wake.set()

    def _lose_all(self) -> None:
        """The session ended: every lock it held is gone; the runners go back to waiting for theirs; subscribers are
        told that they may miss notices until their LISTEN is in force again."""
        with self._lock:
            for subscription in self._subscriptions:
                subscription.listening(False)
            for lease in self._leases.values():
                lease.lost = True
                lease.wake.set()
            self._leases.clear()
            self._released.clear()


def _page_session(conn: psycopg.Connection[Any]) -> None:
    # A page's commit does not wait for its WAL flush: a crash can lose the last pages applied, rows and tracking
    # row together (a transaction is lost whole or kept whole), and the runner applies them again from the events,
    # which are flushed before their append returns. Nothing acknowledged is lost, nothing is applied twice.
    conn.execute("SET synchronous_commit = off")
    # Plan the view's statements at each run (issue 20, ADR 0054). psycopg prepares a statement run five times, and
    # PostgreSQL then keeps a generic plan: one made while a view's table was empty is a sequential scan, kept for the
    # life of the session until an ANALYZE, which a busy server's autovacuum may not reach for a long time; the
    # integrations follower's first catch-up on the 1,000,000-event store scanned its conversations table once per
    # event that way (41,358 scans, 117 million rows read in 2.5 minutes). Planning a keyed statement costs a few
    # hundredths of a millisecond.
    conn.execute("SET plan_cache_mode = force_custom_plan")
