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
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Any, NamedTuple

import psycopg
from eventsourcing.persistence import Mapper, Notification, Tracking
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow

from domain.text import storable
from projections._common import TrackedView
from projections._fold import Fold
from projections._parking import TABLE as PARKED
from projections._parking import Scopes, storable_event

log = logging.getLogger("chatassist.projections")
Decoded = tuple[Any, Tracking]  # a domain event and the tracking of its notification
LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
IDLE, INERROR = TransactionStatus.IDLE, TransactionStatus.INERROR
_new = object.__new__
PARKED_SQL = f"SELECT scope FROM {PARKED} WHERE projection = %s"
SKIPPED_SQL = f"UPDATE {PARKED} SET skipped = skipped + %s, last_skipped = %s WHERE projection = %s AND scope = %s"


class ProjectionStopped(Exception):
    """The projection met an event it cannot apply and stopped at it: nothing of that event was written."""


class NotParked(Exception):
    """``retry`` was asked for a workspace that is not parked for the projection."""


class RetryFailed(Exception):
    """``retry`` met an event it still cannot apply: nothing was written, the workspace stays parked."""


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


def describe(notification: Notification | StoredRow) -> str:
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


# A live runner's step in each page's transaction: (the page's cursor, its last notification id)
PageHook = Callable[[psycopg.Cursor[DictRow], int], None]


class PageApplier:
    """Applies pages of notifications to ``projection`` (whose view is ``view``) on a caller-owned connection."""

    def __init__(
        self,
        app_name: str,
        mapper: Mapper[Any],
        projection: Any,
        view: TrackedView,
        *,
        fold: bool = True,
        park_in: str | None = None,
        after_page: PageHook | None = None,
    ) -> None:
        """``park_in``: the events table; given, an event that cannot be applied parks its workspace for this view
        (``projection_parked``) and the others' events go on; without it, it stops the projection (a rebuild).
        ``after_page``: called in each page's transaction after its rows are written and before its tracking row,
        with the page's cursor and its last notification id (a live runner's; a rebuild's pages have none)."""
        self.app_name, self.mapper, self.projection, self.view = app_name, mapper, projection, view
        self.after_page = after_page
        make_fold = getattr(projection, "fold", None) if fold else None
        self.fold: Fold | None = make_fold(view) if make_fold is not None else None
        self.key = lock_key("apply", view)
        self.position_sql = sql.SQL("SELECT notification_id FROM {}.{} WHERE application_name = %s").format(
            sql.Identifier(view.datastore.schema), sql.Identifier(view.tracking_table_name)
        )
        self.events_table = park_in
        self.scopes = Scopes(mapper, park_in) if park_in is not None else None
        self.name = str(projection.name).lower()  # as its tracking table spells it

    def position(self, conn: psycopg.Connection[DictRow]) -> int | None:
        """The tracked position (None before the first event)."""
        row = conn.execute(self.position_sql, (self.app_name,)).fetchone()
        return None if row is None else int(row["notification_id"])

    def apply(
        self,
        conn: psycopg.Connection[DictRow],
        notifications: Sequence[Notification | StoredRow],
        at: int | None,
        events: Sequence[Decoded] | None = None,
    ) -> None:
        """Apply ``notifications`` (the next ones after position ``at``) in one transaction.

        ``events``: the notifications already decoded (one pair each, in order), else they are decoded here. Inside
        a transaction of the caller's, the page is a nested one (a savepoint) and commits with the caller's.
        A page that fails is applied again one event per transaction, each event's texts made storable. Raises
        PositionMoved when the tracking row is not at ``at``, HeldPageFailed when a page of a fold holding its rows
        across pages fails (nothing is retried), psycopg.OperationalError when the connection fails, and, when an
        event still cannot be applied: with ``park_in``, parks its workspace and goes on (``_park``); without,
        ProjectionStopped (after committing the events before it, one by one).
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
                if self.scopes is None:
                    message = f"{self.projection.name}: cannot apply {describe(notification)}: {err!r}; stopped there"
                    log.error("%s (the event is not skipped: fix the projection and restart it)", message)
                    raise ProjectionStopped(message) from err
                self._park(conn, notification, err, at)
            at = notification.id

    def _park(
        self, conn: psycopg.Connection[DictRow], notification: Notification | StoredRow, err: Exception, at: int | None
    ) -> None:
        """Park the workspace of ``notification`` (which cannot be applied) for this view, and move the tracking
        position past it, in one transaction; logged once, as an error."""
        assert self.scopes is not None
        scope = self.scopes.of_notification(conn, notification)
        error = storable(repr(err))[:2000]
        with conn.transaction(), conn.cursor() as curs:
            tracked = self._tracked(curs)
            if tracked != at:
                raise PositionMoved(tracked)
            curs.execute(
                f"INSERT INTO {PARKED} (projection, scope, notification_id, topic, originator_id, originator_version,"
                " error) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (projection, scope) DO NOTHING",
                (self.name, scope, notification.id, notification.topic, notification.originator_id,
                 notification.originator_version, error),
            )  # fmt: skip
            self.view.record_position(curs, _tracking(self.app_name, notification.id))
        log.error(
            "%s: cannot apply %s: %s; parked workspace %s for this view (its later events are skipped here, the other"
            " workspaces go on): fix the cause, then run `chatassist projections retry %s %s`",
            self.projection.name,
            describe(notification),
            error,
            scope,
            self.name,
            scope,
        )

    def retry(self, conn: psycopg.Connection[DictRow], scope: Any, batch: int = 500) -> int:
        """Re-apply the events of parked workspace ``scope`` to this view, from its parked event up to the tracked
        position, and unpark it, in one transaction holding the apply lock (the runner's pages wait); returns the
        number of events applied. NotParked when it is not parked; RetryFailed (nothing written, the row's error
        updated) when an event still cannot be applied."""
        assert self.scopes is not None and self.events_table is not None
        where = "WHERE projection = %s AND scope = %s"
        applied, current = 0, None
        try:
            with conn.transaction(), conn.cursor() as curs:
                tracked = self._tracked(curs)
                row = curs.execute(
                    f"SELECT notification_id FROM {PARKED} {where} FOR UPDATE".encode(), (self.name, scope)
                ).fetchone()
                if row is None:
                    raise NotParked(f"{self.name}: workspace {scope} is not parked")
                after = int(row["notification_id"]) - 1
                while page := read_page(conn, self.events_table, after, self.projection.topics, batch, until=tracked):
                    decoded = decode(self.app_name, self.mapper, page)
                    scopes = self.scopes.of(conn, (e for e, _ in decoded))
                    with self.view.page(curs):
                        for notification, (event, tracking), of in zip(page, decoded, scopes, strict=True):
                            if of == scope:
                                current = notification
                                self._statements(conn, [(storable_event(event), tracking)], pipeline=False)
                                current, applied = None, applied + 1
                    after = page[-1].id
                curs.execute(f"DELETE FROM {PARKED} {where}".encode(), (self.name, scope))
        except NotParked:
            raise
        except Exception as err:
            if not conn.closed and conn.info.transaction_status == INERROR:
                conn.rollback()
            error = storable(repr(err))[:2000]
            conn.execute(
                f"UPDATE {PARKED} SET error = %s, retried_at = now() {where}".encode(), (error, self.name, scope)
            )
            what = "an event" if current is None else describe(current)
            raise RetryFailed(f"{self.name}: workspace {scope} stays parked: cannot apply {what}: {error}") from err
        log.info("%s: workspace %s unparked: %d events re-applied", self.projection.name, scope, applied)
        return applied

    def _page(
        self,
        conn: psycopg.Connection[DictRow],
        notifications: Sequence[Notification | StoredRow],
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
            with ExitStack() as transaction, conn.cursor() as curs, conn.cursor() as position, conn.cursor() as parked:
                with conn.pipeline():
                    # the Transaction itself: conn.transaction() would keep the whole block in pipeline mode
                    transaction.enter_context(psycopg.Transaction(conn))
                    curs.execute(LOCK_SQL, (self.key,), prepare=True)
                    position.execute(self.position_sql, (self.app_name,), prepare=True)
                    if self.scopes is not None:  # the workspaces parked for this view, in the same round trip
                        parked.execute(PARKED_SQL, (self.name,), prepare=True)
                tracked = self._position_of(position.fetchone())
                skip = {row["scope"] for row in parked.fetchall()} if self.scopes is not None else set()
                self._body(conn, curs, tracked, notifications, events, at, batched, transaction, skip)
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
        notifications: Sequence[Notification | StoredRow],
        events: Sequence[Decoded] | None,
        at: int | None,
        batched: bool,
        transaction: ExitStack | None = None,
        skip: set[Any] | frozenset[Any] = frozenset(),
    ) -> None:
        """The page's statements and its tracking row, once the apply lock is held; ``transaction``: our own
        transaction, committed here in one round trip with the tracking row. Then ``view.committed`` (after our own
        commit; inside a caller's transaction, before the caller commits: a rebuild's views publish nothing).

        Not ``batched`` (a page that failed, applied event by event), each event's texts are made storable first
        (domain/text.py): an event stored with a NUL, which a view cannot hold, is applied with it replaced.
        ``skip``: the parked workspaces, whose events are skipped (counted in their parked rows)."""
        if tracked != at:
            raise PositionMoved(tracked)
        if events is None:  # decoded here, so an event that cannot be decoded stops the projection at it
            events = decode(self.app_name, self.mapper, notifications)
        last = events[-1][1]
        if not batched:
            events = [(storable_event(event), tracking) for event, tracking in events]
        if skip:
            events = self._skip(conn, curs, events, skip)
        with self.view.page(curs):
            if not events:
                pass
            elif batched and self.fold is not None:
                self._fold_events(conn, curs, events)
            else:
                self._statements(conn, events, pipeline=batched)
            if self.after_page is not None:
                self.after_page(curs, last.notification_id)
            if transaction is None:
                self.view.record_position(curs, last)
            else:
                with conn.pipeline():
                    self.view.record_position(curs, last, pipelined=True)
                    transaction.close()  # COMMIT, in the same round trip
        if events:
            self.view.committed(events)

    def _skip(
        self,
        conn: psycopg.Connection[DictRow],
        curs: psycopg.Cursor[DictRow],
        events: Sequence[Decoded],
        parked: set[Any] | frozenset[Any],
    ) -> list[Decoded]:
        """The events not of a parked workspace; each parked one's row counts those skipped and the last one."""
        assert self.scopes is not None
        kept: list[Decoded] = []
        skipped: dict[Any, list[int]] = {}
        for pair, scope in zip(events, self.scopes.of(conn, (e for e, _ in events)), strict=True):
            if scope in parked:
                skipped.setdefault(scope, []).append(pair[1].notification_id)
            else:
                kept.append(pair)
        for scope, ids in skipped.items():
            curs.execute(SKIPPED_SQL, (len(ids), ids[-1], self.name, scope), prepare=True)
        return kept

    def fold_page(
        self, conn: psycopg.Connection[DictRow], curs: psycopg.Cursor[DictRow], events: Sequence[Decoded]
    ) -> None:
        """Fold ``events`` on ``curs`` (the caller's transaction), without the apply lock or a tracking row: a share
        of a rebuild's pages (projections/rebuild/shares.py), whose pass records the position."""
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
