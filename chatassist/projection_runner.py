"""Run one projection: one active replica per projection, the others hot standbys; events applied in pages.

The active replica holds a session-level PostgreSQL advisory lock on its own connection, and applies every page
on that same connection: if the connection (or the process) dies, the lock goes with it and a standby, polling for
the lock, takes over from the tracked position. Pages take what is in the store, up to ``batch`` events, so under
a light load a page is one event and under a heavy one many share a commit. An event the view cannot apply parks
its workspace for the view and the runner goes on (projections/_parking.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import Any

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg import sql

from commands.application import ChatAssistApp
from projections._paging import PageApplier, PositionMoved, ProjectionStopped, lock_key, read_page

log = logging.getLogger("chatassist.projections")
# Pages are read and written on the runner's own connection: the pools only create tables and answer wait().
RUNNER_POOL = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2"}


def session_kwargs(pool_kwargs: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A dedicated autocommit session's connection arguments, from a pool's: without the pool's statement timeout
    (a page of a projection, a rebuild may take longer than a request should)."""
    kwargs = {k: v for k, v in pool_kwargs.items() if k != "options"}
    return {**kwargs, "autocommit": True, **overrides}


class PagedRunner:
    """Runs ``projection_class`` over the store in a background thread (``start``/``stop``, or as a context)."""

    def __init__(
        self,
        projection_class: type[Any],
        view_class: type[Any],
        env: dict[str, str],
        *,
        batch: int = 500,
        standby_poll_s: float = 0.5,
        idle_wait_s: float = 5.0,
        fold: bool = True,
        datastore: Any = None,
    ) -> None:
        """``datastore``: the process's shared pool for the view's reads (wait(), live notices), instead of a pool
        of the runner's own (docs/operations.md, "Connections")."""
        env = {**env, **RUNNER_POOL}
        self.app = ChatAssistApp(env=env)
        self.app.close()  # its tables exist now; pages are read on the runner's own connection
        factory = InfrastructureFactory.construct(env=Environment(projection_class.name, env))
        self.view: Any = factory.tracking_recorder(view_class)  # type: ignore[type-var]
        self._own_pool = datastore is None
        if datastore is not None:
            self.view.datastore.close()  # it created the view's tables
            self.view.datastore = datastore
        self.projection: Any = projection_class(view=self.view)
        # an event it cannot apply parks its workspace for this view (projection_parked), the others go on
        events_table = self.app.recorder.events_table_name
        self.applier = PageApplier(
            self.app.name, self.app.mapper, self.projection, self.view, fold=fold, park_in=events_table
        )
        self.batch, self.standby_poll_s, self.idle_wait_s = batch, standby_poll_s, idle_wait_s
        self.error: BaseException | None = None
        self.active = threading.Event()
        self.position: int | None = None
        self._stopping = threading.Event()
        self._stop_channel = f"chatassist_runner_stop_{uuid.uuid4().hex}"
        self._advanced = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"projection-{projection_class.name}", daemon=True)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> PagedRunner:
        """Start the runner's thread (as a standby until it holds the projection's lock)."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop applying (the current page commits or rolls back first) and close the runner's connections."""
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.app.close()
        if self._own_pool:
            self.view.datastore.close()

    def __enter__(self) -> PagedRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self, timeout: float | None = None) -> None:
        """Block until stopped (or ``timeout``); re-raise the error that stopped the projection."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def wait(self, notification_id: int | None, timeout: float = 1.0) -> None:
        """Block until the view has applied ``notification_id`` (by this replica or another one)."""
        deadline = time.monotonic() + timeout
        while notification_id is not None:
            if self.error is not None:
                raise self.error
            if (self.position or 0) >= notification_id or self.view.has_tracking_id(self.app.name, notification_id):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.projection.name} did not reach position {notification_id} in {timeout}s")
            with self._advanced:
                self._advanced.wait(min(remaining, 0.05))

    # --- the loop -----------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._connect() as conn:
                    if self._acquire(conn):
                        self._apply_until_stopped(conn)
            except ProjectionStopped as err:
                self.error = err
                return
            except psycopg.OperationalError as err:
                log.warning("%s: lost the database connection (%s); reconnecting", self.projection.name, err)
                self._stopping.wait(1.0)
            except BaseException as err:  # an error of ours: surface it through wait() and run_forever()
                log.exception("%s: runner failed", self.projection.name)
                self.error = err
                return
            finally:
                self.active.clear()
                with self._advanced:
                    self._advanced.notify_all()

    def _connect(self) -> psycopg.Connection[Any]:
        name = f"chatassist projection {self.projection.name} pid {os.getpid()}"
        conn = psycopg.connect(**session_kwargs(self.view.datastore.pool.kwargs, application_name=name))
        # A page's commit does not wait for its WAL flush: a crash can lose the last pages applied, rows and
        # tracking row together (a transaction is lost whole or kept whole), and the runner applies them again
        # from the events, which are flushed before their append returns. Nothing acknowledged is lost, nothing is
        # applied twice; a page's rows become visible at its commit either way.
        conn.execute("SET synchronous_commit = off")
        self._plan_each_time(conn)
        return conn

    @staticmethod
    def _plan_each_time(conn: psycopg.Connection[Any]) -> None:
        """Plan the view's statements at each run (issue 20). psycopg prepares a statement run five times, and
        PostgreSQL then keeps a generic plan: one made while a view's table was empty is a sequential scan, kept for
        the life of the session until an ANALYZE, which a busy server's autovacuum may not reach for a long time;
        the integrations follower's first catch-up on the 1,000,000-event store scanned its conversations table
        once per event that way (41,358 scans, 117 million rows read in 2.5 minutes). Planning a keyed statement
        costs a few hundredths of a millisecond."""
        conn.execute("SET plan_cache_mode = force_custom_plan")

    def _acquire(self, conn: psycopg.Connection[Any]) -> bool:
        """Poll for the projection's lock until held (True) or stopped (False)."""
        key = lock_key("runner", self.view)
        while not self._stopping.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS held", (key,)).fetchone()
            if row and row["held"]:
                log.info("%s: active (this replica applies the events)", self.projection.name)
                self.active.set()
                return True
            self._stopping.wait(self.standby_poll_s)
        return False

    # --- the wake: a NOTIFY (each append sends one; stop() sends one on the runner's own channel), or the fallback
    # tick of ``idle_wait_s`` when none comes (ADR 0053) ------------------------------------------------------------

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        """LISTEN to the store's appends and to this runner's stop channel, on the runner's session."""
        for channel in (self.app.recorder.channel_name, self._stop_channel):
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))

    def _idle(self, conn: psycopg.Connection[Any]) -> None:
        """Wait for the next NOTIFY (one received since the last read is kept by psycopg and returns at once), or
        for the fallback tick."""
        for _ in conn.notifies(timeout=self.idle_wait_s, stop_after=1):
            pass

    def _wake(self) -> None:
        """Wake the runner's thread out of ``_idle`` (stop() need not wait for the fallback tick)."""
        if not self._thread.is_alive() or not self.active.is_set():
            return
        try:
            with psycopg.connect(**session_kwargs(self.view.datastore.pool.kwargs, connect_timeout=2)) as conn:
                conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self._stop_channel)))
        except psycopg.Error:  # the database is away: the thread stops at its fallback tick, or on its error
            pass

    def _apply_until_stopped(self, conn: psycopg.Connection[Any]) -> None:
        self._listen(conn)
        self.position = self.applier.position(conn)
        topics = self.projection.topics
        while not self._stopping.is_set():
            page = read_page(conn, self.app.recorder.events_table_name, self.position, topics, self.batch)
            if not page:
                self._idle(conn)
                continue
            try:
                self.applier.apply(conn, page, self.position)
            except PositionMoved as moved:
                log.info(
                    "%s: the tracked position moved from %s to %s (a rebuild swapped the tables); resuming there",
                    self.projection.name,
                    self.position,
                    moved.position,
                )
                self.position = moved.position
                continue
            with self._advanced:
                self.position = page[-1].id
                self._advanced.notify_all()
