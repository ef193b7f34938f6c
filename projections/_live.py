"""Live notices: after a view commits rows of a workspace, tell that workspace's Redis channel (best effort).

A notice is ``{"projection": "monitor_v1", "workspace_id": "...", "position": 42}`` on channel
``chatassist:live:<workspace_id>``: the view has committed the rows of that workspace up to ``position`` (or later).
Publishing never blocks or fails the projection: the paged runner hands each committed page to a bounded queue,
and a daemon thread finds the workspaces it touched and publishes (pages waiting together make one notice per
workspace); when Redis or the lookup fails, they are dropped and logged. Readers re-read the view on a notice and on
a heartbeat, so a lost notice costs only latency.

The Redis URL reaches the view through the projection runner's environment (``CHATASSIST_LIVE_REDIS_URL``), read by
``LiveFactory``, the persistence module of the runners (``PERSISTENCE_MODULE=projections._live:LiveFactory``).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any
from uuid import UUID

import redis
from eventsourcing.postgres import PostgresFactory

LIVE_REDIS_URL = "CHATASSIST_LIVE_REDIS_URL"
FACTORY_TOPIC = "projections._live:LiveFactory"
CHANNEL_PREFIX = "chatassist:live:"
QUEUE_SIZE = 10_000
log = logging.getLogger("chatassist.live")


def channel(workspace_id: UUID | str) -> str:
    """The Redis channel of one workspace's live notices."""
    return f"{CHANNEL_PREFIX}{workspace_id}"


def notice(projection: str, workspace_id: UUID | str, position: int) -> bytes:
    """The JSON body of one notice."""
    return json.dumps({"projection": projection, "workspace_id": str(workspace_id), "position": position}).encode()


class LivePublisher:
    """Publishes the notices of one view from a daemon thread; ``notify`` never blocks the projection.

    The thread finds the workspaces a committed page touched with the view's ``live_workspaces_sql`` (one query per
    batch of pages, on the view's pool, after the commit), then publishes a notice per workspace in one pipeline.
    """

    def __init__(self, redis_url: str, projection: str, view: Any) -> None:
        self.projection, self.view = projection, view
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.queue: queue.Queue[tuple[set[Any], int]] = queue.Queue(QUEUE_SIZE)
        self.dropped = 0  # pages whose notices were lost (queue full, database or Redis unavailable)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self, originator_ids: set[Any], position: int) -> None:
        """Queue a committed page: the aggregates its events belong to and the position it ends at."""
        self._start()
        try:
            self.queue.put_nowait((originator_ids, position))
        except queue.Full:
            self.dropped += 1

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=f"live-{self.projection}", daemon=True)
                    self._thread.start()

    def _take(self) -> tuple[set[Any], int, int]:
        """Every page waiting (up to 1,000): their aggregates, the newest position, how many pages."""
        ids, position = self.queue.get()
        ids, taken = set(ids), 1
        while taken < 1000:
            try:
                more, at = self.queue.get_nowait()
            except queue.Empty:
                break
            ids |= more
            position, taken = max(position, at), taken + 1
        return ids, position, taken

    def _run(self) -> None:
        failing = False
        while True:
            ids, position, taken = self._take()
            try:
                rows = self.view.query(self.view.live_workspaces_sql(), {"ids": list(ids)})
                pipe = self.client.pipeline(transaction=False)
                for workspace_id in sorted({str(r["workspace_id"]) for r in rows}):
                    pipe.publish(channel(workspace_id), notice(self.projection, workspace_id, position))
                pipe.execute()
                if failing:
                    log.info("%s: live notices published again", self.projection)
                    failing = False
            except Exception as err:  # Redis or the database unavailable: drop, and say so once
                self.dropped += taken
                if not failing:
                    log.warning("%s: cannot publish live notices (%s); dropping them until it works again",
                                self.projection, err)  # fmt: skip
                    failing = True
                time.sleep(0.5)


class LiveFactory(PostgresFactory):
    """The PostgreSQL persistence of eventsourcing, plus a live publisher on every view it builds when the
    environment names a Redis URL (``CHATASSIST_LIVE_REDIS_URL``)."""

    def tracking_recorder(self, tracking_recorder_class: Any = None) -> Any:
        """The view, with ``live`` set when live notices are configured."""
        recorder = super().tracking_recorder(tracking_recorder_class)
        url = self.env.get(LIVE_REDIS_URL)
        if url and hasattr(recorder, "live") and recorder.live_workspaces_sql() is not None:
            recorder.live = LivePublisher(url, self.env.name.lower(), recorder)
        return recorder
