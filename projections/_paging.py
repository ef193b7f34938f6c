"""Apply a page of events to a projection in one transaction, with the tracking position of its last event.

Every page starts by taking a transaction-level advisory lock named after the view's tracking table and reading the
tracked position: pages of two runners of one projection, and a rebuild's swap, are applied one after the other,
and a page whose runner is not where the tracking row says (another replica moved on, a rebuild swapped the tables)
writes nothing and tells the runner where to resume. Exactly once: a page's rows and its position commit together.

A page is decoded inside its transaction, unless the caller hands it over decoded (``apply(..., events=...)``): a
rebuild of several projections reads and decodes each page once and applies it to each of them, every projection's
part a nested transaction (a savepoint) of the one transaction of the page.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any, NamedTuple

import psycopg
from eventsourcing.persistence import Mapper, Notification, Tracking
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow

from projections._common import TrackedView
from projections._fold import Fold

log = logging.getLogger("chatassist.projections")
Decoded = tuple[Any, Tracking]  # a domain event and the tracking of its notification
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
IDLE, INERROR = TransactionStatus.IDLE, TransactionStatus.INERROR
_new = object.__new__


class ProjectionStopped(Exception):
    """The projection met an event it cannot apply and stopped at it: nothing of that event was written."""


class HeldPageFailed(Exception):
    """A page of a fold that holds its rows across pages failed: the rows in memory are not what the table's
    transaction left, so the page cannot be applied again event by event (a rebuild starts over without holding)."""


class PositionMoved(Exception):
    """The tracking row is not at the runner's position: nothing was written; resume after ``position``."""

    def __init__(self, position: int | None) -> None:
        super().__init__(f"the tracked position is {position}")
        self.position = position


def lock_key(kind: str, view: TrackedView) -> str:
    """The name hashed into an advisory lock of ``kind`` (apply, runner, rebuild) for ``view``'s tracking table."""
    return f"chatassist.projection.{kind}:{view.tracking_table_name}"


def describe(notification: Notification) -> str:
    """The event of a notification, as an operator looks it up in the store."""
    topic = notification.topic.rsplit(":", 1)[-1]
    return (
        f"{topic} at position {notification.id}"
        f" (aggregate {notification.originator_id} version {notification.originator_version})"
    )


class StoredRow(NamedTuple):
    """A stored event as a page reads it: the fields of the library's ``Notification`` that the mapper and the
    appliers read, as a tuple (built by PostgreSQL's row decoding in C: a third of the cost of a ``Notification``)."""

    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


def stored_rows(cursor: Any) -> Any:
    """A psycopg row factory of ``StoredRow`` (the query's columns in its order)."""
    return StoredRow._make


def read_page(
    conn: psycopg.Connection[Any],
    events_table: str,
    after: int | None,
    topics: Sequence[str],
    limit: int,
    *,
    until: int | None = None,
    where: sql.Composable | None = None,
) -> list[StoredRow]:
    """The next ``limit`` notifications after position ``after`` among ``topics`` (all topics when empty), up to
    position ``until`` if given, and for which ``where`` holds (a condition on the events table, named ``e``).

    Rows come as ``StoredRow`` tuples in PostgreSQL's binary format: ``state`` arrives as the stored bytes (no hex
    to decode) and ``originator_id`` as a UUID.
    """
    query, params = page_query(events_table, after, topics, limit, until=until, where=where)
    with conn.cursor(row_factory=stored_rows, binary=True) as curs:
        # Planned each time when filtered by topic: a prepared statement's generic plan does not know how rare the
        # topics are and walks the notification_id index, filtering every event after the position (ADR 0025).
        curs.execute(query, params, prepare=not topics)
        return curs.fetchall()


def page_query(
    events_table: str,
    after: int | None,
    topics: Sequence[str],
    limit: int,
    *,
    until: int | None = None,
    where: sql.Composable | None = None,
) -> tuple[sql.Composed, list[Any]]:
    """The statement and parameters of ``read_page``. With ``topics``, the index on (topic, notification_id)
    serves it: its cost is the rows of those topics after the position, not every event between."""
    query = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} e WHERE notification_id > %s"
    ).format(sql.Identifier(events_table))
    if where is not None:
        query += sql.SQL(" AND ") + where
    params: list[Any] = [after or 0]
    if until is not None:
        query += sql.SQL(" AND notification_id <= %s")
        params.append(until)
    if topics:
        query += sql.SQL(" AND topic = ANY(%s)")
        params.append(list(topics))
    return query + sql.SQL(" ORDER BY notification_id LIMIT %s"), [*params, limit]


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused in the block (a rebuild's pages; the caller collects the youngest
    generation after each page).

    A rebuild allocates a few dozen objects per event and holds millions of rows: left on, the collector walks every
    object held again and again (measured: 48.5 s instead of 72.7 s for a rebuild of all on 1M events without it).
    The events and rows have no reference cycles; what a page creates in cycles is collected after the page."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode(app_name: str, mapper: Mapper[Any], notifications: Sequence[Notification | StoredRow]) -> list[Decoded]:
    """Each notification's domain event with its tracking, in order."""
    to_domain_event = mapper.to_domain_event
    return [(to_domain_event(n), _tracking(app_name, n.id)) for n in notifications]  # type: ignore[arg-type]


def _tracking(application_name: str, notification_id: int) -> Tracking:
    """``Tracking(application_name, notification_id)``, equal and alike, built without the frozen dataclass's
    ``__init__`` (0.76 µs per event of a rebuild: its ``object.__setattr__`` per field)."""
    tracking = _new(Tracking)
    fields = tracking.__dict__
    fields["application_name"], fields["notification_id"] = application_name, notification_id
    return tracking


class PageApplier:
    """Applies pages of notifications to ``projection`` (whose view is ``view``) on a caller-owned connection."""

    def __init__(
        self, app_name: str, mapper: Mapper[Any], projection: Any, view: TrackedView, *, fold: bool = True
    ) -> None:
        self.app_name, self.mapper, self.projection, self.view = app_name, mapper, projection, view
        make_fold = getattr(projection, "fold", None) if fold else None
        self.fold: Fold | None = make_fold(view) if make_fold is not None else None
        self.key = lock_key("apply", view)
        self.position_sql = sql.SQL("SELECT notification_id FROM {}.{} WHERE application_name = %s").format(
            sql.Identifier(view.datastore.schema), sql.Identifier(view.tracking_table_name)
        )

    def position(self, conn: psycopg.Connection[DictRow]) -> int | None:
        """The tracked position (None before the first event)."""
        row = conn.execute(self.position_sql, (self.app_name,)).fetchone()
        return None if row is None else int(row["notification_id"])

    def apply(
        self,
        conn: psycopg.Connection[DictRow],
        notifications: Sequence[Notification],
        at: int | None,
        events: Sequence[Decoded] | None = None,
    ) -> None:
        """Apply ``notifications`` (the next ones after position ``at``) in one transaction.

        ``events``: the notifications already decoded (one pair each, in order), else they are decoded here. Inside
        a transaction of the caller's, the page is a nested one (a savepoint) and commits with the caller's.
        Raises PositionMoved when the tracking row is not at ``at``, HeldPageFailed when a page of a fold holding its
        rows across pages fails (nothing is retried), ProjectionStopped (after committing the events
        before it, one by one) when an event cannot be applied, psycopg.OperationalError when the connection fails.
        """
        try:
            self._page(conn, notifications, events, at, batched=True)
            return
        except (PositionMoved, psycopg.OperationalError):
            raise
        except Exception as err:
            if self.fold is not None and self.fold.has_held:
                raise HeldPageFailed(f"{self.projection.name}: a page of held rows failed: {err!r}") from err
            log.warning(
                "%s: a page of %d events failed (%r); applying them one by one",
                self.projection.name,
                len(notifications),
                err,
            )
        for i, notification in enumerate(notifications):
            try:
                self._page(conn, [notification], None if events is None else [events[i]], at, batched=False)
            except (PositionMoved, psycopg.OperationalError):
                raise
            except Exception as err:
                message = f"{self.projection.name}: cannot apply {describe(notification)}: {err!r}; stopped there"
                log.error("%s (the event is not skipped: fix the projection and restart it)", message)
                raise ProjectionStopped(message) from err
            at = notification.id

    def _page(
        self,
        conn: psycopg.Connection[DictRow],
        notifications: Sequence[Notification],
        events: Sequence[Decoded] | None,
        at: int | None,
        batched: bool,
    ) -> None:
        """One transaction; ``batched``: the projection's fold if it has one, else its statements pipelined."""
        if conn.info.transaction_status != IDLE:  # inside the caller's transaction (a rebuild): a savepoint
            with conn.transaction(), conn.cursor() as curs:
                self._body(conn, curs, self._tracked(curs), notifications, events, at, batched)
                return
        # A transaction of our own (a runner's page) costs two round trips besides the page's own statements:
        # BEGIN, the apply lock and the position go in one pipeline (each its own statement, so the position is
        # read with a snapshot taken after the lock is held: it sees what a swap committed while we waited), and
        # the tracking row goes with the COMMIT.
        try:
            with ExitStack() as transaction, conn.cursor() as curs, conn.cursor() as position:
                with conn.pipeline():
                    # the Transaction itself: conn.transaction() would keep the whole block in pipeline mode
                    transaction.enter_context(psycopg.Transaction(conn))
                    curs.execute(LOCK_SQL, (self.key,), prepare=True)
                    position.execute(self.position_sql, (self.app_name,), prepare=True)
                tracked = self._position_of(position.fetchone())
                self._body(conn, curs, tracked, notifications, events, at, batched, transaction)
        except BaseException:
            # an error in the last pipeline (the tracking row refused) comes after the COMMIT was queued: the
            # transaction block is then left failed, not closed
            if not conn.closed and conn.info.transaction_status == INERROR:
                try:
                    conn.rollback()
                except psycopg.Error as failed:
                    # Seen under load: the rollback of a page refused in its last pipeline fails itself ("pipeline
                    # aborted"). Raising that would hide the page's own error and read as a lost connection: close
                    # the connection instead (the runner reconnects at its next statement) and raise the page's.
                    log.warning("%s: closing the connection after a failed rollback (%r)", self.projection.name, failed)
                    conn.close()
            raise

    def _tracked(self, curs: psycopg.Cursor[DictRow]) -> int | None:
        """Take the apply lock, then read the tracked position (a new statement, so a new snapshot)."""
        curs.execute(LOCK_SQL, (self.key,), prepare=True)
        return self._position_of(curs.execute(self.position_sql, (self.app_name,), prepare=True).fetchone())

    @staticmethod
    def _position_of(row: DictRow | None) -> int | None:
        return None if row is None else int(row["notification_id"])

    def _body(
        self,
        conn: psycopg.Connection[DictRow],
        curs: psycopg.Cursor[DictRow],
        tracked: int | None,
        notifications: Sequence[Notification],
        events: Sequence[Decoded] | None,
        at: int | None,
        batched: bool,
        transaction: ExitStack | None = None,
    ) -> None:
        """The page's statements and its tracking row, once the apply lock is held; ``transaction``: our own
        transaction, committed here in one round trip with the tracking row. Then ``view.committed`` (after our own
        commit; inside a caller's transaction, before the caller commits: a rebuild's views publish nothing)."""
        if tracked != at:
            raise PositionMoved(tracked)
        if events is None:  # decoded here, so an event that cannot be decoded stops the projection at it
            events = decode(self.app_name, self.mapper, notifications)
        with self.view.page(curs):
            if batched and self.fold is not None:
                self._fold_events(conn, curs, events)
            else:
                self._statements(conn, events, pipeline=batched)
            if transaction is None:
                self.view.record_position(curs, events[-1][1])
            else:
                with conn.pipeline():
                    self.view.record_position(curs, events[-1][1], pipelined=True)
                    transaction.close()  # COMMIT, in the same round trip
        self.view.committed(events)

    def fold_page(
        self, conn: psycopg.Connection[DictRow], curs: psycopg.Cursor[DictRow], events: Sequence[Decoded]
    ) -> None:
        """Fold ``events`` on ``curs`` (the caller's transaction), without the apply lock or a tracking row: a share
        of a rebuild's pages (chatassist/rebuild_shares.py), whose pass records the position."""
        with self.view.page(curs):
            self._fold_events(conn, curs, events)

    def _fold_events(
        self, conn: psycopg.Connection[DictRow], curs: psycopg.Cursor[DictRow], events: Sequence[Decoded]
    ) -> None:
        """``events`` through the fold, the events it has no handler for through the SQL handlers, pipelined."""
        assert self.fold is not None
        self.fold.reset()
        self.fold.apply(curs, events, lambda run: self._statements(conn, run, pipeline=True))

    def _statements(self, conn: psycopg.Connection[DictRow], events: Sequence[Decoded], pipeline: bool) -> None:
        """Each event through the projection's own handler (its SQL statements), pipelined or one by one."""
        with conn.pipeline() if pipeline else nullcontext():
            for event, tracking in events:
                self.projection.process_event(event, tracking)
