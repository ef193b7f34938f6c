"""Run one projection: one active replica per projection, the others hot standbys; events applied in pages.

The active replica holds a session-level PostgreSQL advisory lock in its process's shared runner session
(chatassist/runner_sessions.py), and applies each page on a connection of the process's pages pool: if the session
(or the process) dies, the lock goes with it and a standby, polling for the lock, takes over from the tracked
position. Pages take what is in the store, up to ``batch`` events, so under a light load a page is one event and
under a heavy one many share a commit. An event the view cannot apply parks its workspace for the view and the
runner goes on (projections/_parking.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from chatassist.runner_sessions import Lease, RunnerSessions
from commands.application import ChatAssistApp
from projections._common import TrackedView
from projections._paging import PageApplier, PageHook, PositionMoved, ProjectionStopped, lock_key, read_page
from projections.rebuild.core import RUNNER_POOL  # a view's pool: tables and wait() only, no pages

log = logging.getLogger("chatassist.projections")


class PagedRunner:
    """Runs ``projection_class`` over the store in a background thread (``start``/``stop``, or as a context)."""

    def __init__(
        self,
        projection_class: type[Any],
        view_class: type[TrackedView],
        env: dict[str, str],
        *,
        batch: int = 500,
        standby_poll_s: float = 0.5,
        idle_wait_s: float = 5.0,
        fold: bool = True,
        datastore: Any = None,
        sessions: RunnerSessions | None = None,
        after_page: PageHook | None = None,
    ) -> None:
        """``datastore``: the process's shared pool for the view's reads (wait(), live notices), instead of a pool
        of the runner's own; ``sessions``: the process's shared runner session and pages pool, instead of ones of
        the runner's own (docs/operations.md, "Connections"); ``after_page``: a step in each page's transaction
        (``PageApplier``)."""
        env = {**env, **RUNNER_POOL}
        self.app = ChatAssistApp(env=env)
        self.app.close()  # its tables exist now; pages are read on the runner's own connection
        factory: InfrastructureFactory[TrackedView] = InfrastructureFactory.construct(
            env=Environment(projection_class.name, env)
        )
        self.view: Any = factory.tracking_recorder(view_class)
        self._own_pool = datastore is None
        if datastore is not None:
            self.view.datastore.close()  # it created the view's tables
            self.view.datastore = datastore
        self.projection: Any = projection_class(view=self.view)
        self._own_sessions = sessions is None
        self.sessions = sessions or RunnerSessions(self.view.datastore.pool.kwargs, poll_s=standby_poll_s, pages_max=1)
        self._lease: Lease | None = None
        # an event it cannot apply parks its workspace for this view (projection_parked), the others go on
        events_table = self.app.recorder.events_table_name
        self.applier = PageApplier(
            self.app.name,
            self.app.mapper,
            self.projection,
            self.view,
            fold=fold,
            park_in=events_table,
            after_page=after_page,
        )
        self.batch, self.standby_poll_s, self.idle_wait_s = batch, standby_poll_s, idle_wait_s
        self.error: BaseException | None = None
        self.active = threading.Event()
        self.position: int | None = None
        self._stopping = threading.Event()
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
        if self._lease is not None:  # out of its idle wait at once, not at the fallback tick (ADR 0053)
            self._lease.wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.sessions.release(lock_key("runner", self.view))
        if self._own_sessions:
            self.sessions.close()
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
                if self._acquire():
                    self._apply_until_stopped()
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

    # --- the shared session: the lock, the wake-ups, a connection per page (chatassist/runner_sessions.py) -------

    def _acquire(self) -> bool:
        """Wait for the projection's lock in the process's runner session until held (True) or stopped (False)."""
        channel = self.app.recorder.channel_name
        self._lease = self.sessions.acquire(lock_key("runner", self.view), channel, self._stopping)
        if self._lease is None:
            return False
        log.info("%s: active (this replica applies the events)", self.projection.name)
        self.active.set()
        return True

    @contextmanager
    def _page_connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection for one page, while this replica still holds the lock (else ``LeaseLost``)."""
        assert self._lease is not None
        self._lease.check()
        self._lease.wake.clear()  # a wake-up from now on is for events this page may not see
        with self.sessions.page() as conn:
            yield conn

    def _idle_wait(self) -> None:
        """Wait for the next append (a notification on the store's channel), at most ``idle_wait_s``."""
        assert self._lease is not None
        self._lease.wake.wait(self.idle_wait_s)

    # --- the loop -----------------------------------------------------------------------------------------------

    def _apply_until_stopped(self) -> None:
        with self._page_connection() as conn:
            self.position = self.applier.position(conn)
        topics = self.projection.topics
        while not self._stopping.is_set():
            with self._page_connection() as conn:
                page = read_page(conn, self.app.recorder.events_table_name, self.position, topics, self.batch)
                if page:
                    try:
                        self.applier.apply(conn, page, self.position)
                    except PositionMoved as moved:
                        log.info(
                            "%s: the tracked position moved from %s to %s (a rebuild swapped the tables); resuming "
                            "there",
                            self.projection.name,
                            self.position,
                            moved.position,
                        )
                        self.position = moved.position
                        continue
            if not page:
                self._idle_wait()
                continue
            with self._advanced:
                self.position = page[-1].id
                self._advanced.notify_all()
            if len(page) < self.batch:
                # The page took every event there was when it was read: the next append's notice (cleared before
                # the read) wakes the runner, so reading again now would only find nothing. Under a light load
                # that empty read was every other statement of a runner's (ADR 0064).
                self._idle_wait()
