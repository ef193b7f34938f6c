"""Periodic jobs (APScheduler). Only the process holding a PostgreSQL advisory lock runs them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from apscheduler.schedulers.background import BackgroundScheduler

from projections.transcripts.projection import CONVERSATIONS, TranscriptView

LEADER_LOCK = 0x43484154 + 1
log = logging.getLogger("chatassist.scheduler")


class Leadership:
    """Holds a session-level advisory lock on its own connection while this process leads."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.conn: psycopg.Connection[Any] | None = None

    def is_leader(self) -> bool:
        """Try to become (or stay) the leader."""
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.database_url, autocommit=True)
                row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,)).fetchone()
                if not (row and row[0]):
                    self.conn.close()
                    self.conn = None
                    return False
                log.info("this process is now the active scheduler")
            self.conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            self.conn = None
            return False

    def release(self) -> None:
        """Give up leadership."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def idle_conversation_ids(view: TranscriptView, idle_minutes: int, limit: int = 500) -> list[str]:
    """Conversations not closed with no activity for ``idle_minutes``, except open ones waiting in a queue or
    handled by an agent (``handler`` queued, assigned, agent): those stay open until a person closes them."""
    rows = view.query(
        f"SELECT id FROM {CONVERSATIONS} WHERE status <> 'closed'"
        " AND NOT (status = 'open' AND handler IN ('queued', 'assigned', 'agent'))"
        " AND last_activity_at < now() - make_interval(mins => %s) ORDER BY last_activity_at LIMIT %s",
        (idle_minutes, limit),
    )
    return [str(r["id"]) for r in rows]


def close_idle_job(view: TranscriptView, idle_minutes: int, send: Callable[[str], Any], leadership: Leadership) -> int:
    """Enqueue a close for each idle conversation (the actor is idempotent); returns how many."""
    if not leadership.is_leader():
        return 0
    ids = idle_conversation_ids(view, idle_minutes)
    for conversation_id in ids:
        send(conversation_id)
    return len(ids)


def start_scheduler(
    view: TranscriptView, database_url: str, idle_minutes: int, send: Callable[[str], Any]
) -> tuple[BackgroundScheduler, Leadership]:
    """Start the background scheduler with its jobs."""
    leadership = Leadership(database_url)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        close_idle_job,
        "interval",
        seconds=60,
        args=[view, idle_minutes, send, leadership],
        id="close_idle",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler, leadership
