"""The integrations follower's runner: a PagedRunner that also moves its position past events it does not follow.

A projection's runner reads ``notification_id > position AND topic = ANY(topics)`` along the primary key: when its
topics are rare, every wake-up would scan every event since the last one it followed (the whole store, for a
follower with nothing to follow). This runner reads up to the store's head as of the read, and when nothing in that
range is its own, records the head as its position (under the apply lock, checked like a page): each wake-up scans
only the events committed since the last one. The events table gets no extra index (appends stay as cheap).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from chatassist.projection_runner import PagedRunner, log
from projections._paging import LOCK_SQL, PositionMoved, read_page

HEAD_SQL = "SELECT max(notification_id) AS head FROM {}"


class FollowingRunner(PagedRunner):
    """Runs a follower of rare topics; see the module docstring."""

    def _apply_until_stopped(self, conn: psycopg.Connection[Any]) -> None:
        recorder: Any = self.app.recorder  # the PostgreSQL recorder (the base type names neither attribute)
        self._listen(conn)
        self.position = self.applier.position(conn)
        table = recorder.events_table_name
        head_sql = sql.SQL(HEAD_SQL).format(sql.Identifier(table))
        topics = self.projection.topics
        while not self._stopping.is_set():
            row = conn.execute(head_sql).fetchone()
            head = int(row["head"]) if row and row["head"] is not None else 0
            page: Any = read_page(conn, table, self.position, topics, self.batch, until=head)  # StoredRow tuples
            try:
                if page:
                    self.applier.apply(conn, page, self.position)
                    moved_to = page[-1].id
                elif head > (self.position or 0):
                    self._skip_to(conn, head)
                    moved_to = head
                else:
                    self._idle(conn)
                    continue
            except PositionMoved as moved:
                log.info("%s: the tracked position moved to %s; resuming there", self.projection.name, moved.position)
                self.position = moved.position
                continue
            with self._advanced:
                self.position = moved_to
                self._advanced.notify_all()

    def _skip_to(self, conn: psycopg.Connection[Any], head: int) -> None:
        """Record ``head`` as the position (nothing of ours lies between), if the tracked position is still ours."""
        with conn.transaction():
            conn.execute(LOCK_SQL, (self.applier.key,), prepare=True)
            tracked = self.applier.position(conn)
            if tracked != self.position:
                raise PositionMoved(tracked)
            params = {"application_name": self.app.name, "notification_id": head}
            conn.execute(self.view.forward_tracking_statement, params, prepare=True)
