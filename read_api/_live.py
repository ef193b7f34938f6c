"""Live updates for the SSE endpoints: one Redis subscription per web process, fanned out to its clients.

Projections publish a notice on ``chatassist:live:<workspace_id>`` after each commit (projections/_live.py). Each
web process subscribes (once per workspace that has a connected client) and wakes those clients, which re-read their
view and push it when it changed. A client also re-reads on every heartbeat, and every client re-reads after the
subscription reconnects, so a lost notice (Redis down, a publish dropped) costs latency, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar.response import ServerSentEventMessage
from redis.asyncio import Redis

from projections._live import CHANNEL_PREFIX, channel

ANY = "*"  # a wake-up for every projection: after a reconnect, notices may have been lost
ANCHOR = f"{CHANNEL_PREFIX}_hub"  # keeps the subscription open while no workspace is watched
HEARTBEAT_S, MIN_INTERVAL_S, MAX_STREAM_S = 15.0, 0.025, 600.0
log = logging.getLogger("chatassist.live")


class Listener:
    """One SSE client's wake-ups: the newest notice position per projection since it last looked."""

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.woken = asyncio.Event()

    def push(self, projection: str, position: int) -> None:
        """Record a notice and wake the client."""
        self.positions[projection] = max(position, self.positions.get(projection, 0))
        self.woken.set()

    async def wait(self, timeout: float) -> bool:
        """True when woken by a notice, False when ``timeout`` passed first (a heartbeat)."""
        try:
            await asyncio.wait_for(self.woken.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def take(self) -> dict[str, int]:
        """The notices received since the last take, and forget them."""
        self.woken.clear()
        taken, self.positions = self.positions, {}
        return taken


class LiveHub:
    """A web process's subscription to the live channels of the workspaces its clients watch.

    Without a Redis URL there are no notices: clients converge on their heartbeat re-reads alone.
    """

    def __init__(
        self, redis_url: str | None, *, heartbeat_s: float = HEARTBEAT_S, max_stream_s: float = MAX_STREAM_S
    ) -> None:
        self.redis_url = redis_url
        self.heartbeat_s = heartbeat_s
        self.max_stream_s = max_stream_s
        self.listeners: dict[str, set[Listener]] = defaultdict(set)
        self.received = 0
        self._redis: Redis | None = None
        self._pubsub: Any = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected: asyncio.Event | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def listen(self, workspace_id: UUID) -> AsyncIterator[Listener]:
        """Wake-ups for one workspace while the context is open."""
        listener, name = Listener(), channel(workspace_id)
        first = not self.listeners[name]
        self.listeners[name].add(listener)
        try:
            if self.redis_url is not None:
                await self._ensure_running()
                if first:
                    await self._change("subscribe", name)
            yield listener
        finally:
            self.listeners[name].discard(listener)
            if not self.listeners[name]:
                del self.listeners[name]
                if self.redis_url is not None:  # a task: the client's cancelled scope would cancel an await here
                    task = asyncio.get_running_loop().create_task(self._change("unsubscribe", name))
                    self._pending.add(task)
                    task.add_done_callback(self._pending.discard)

    async def _ensure_running(self) -> None:
        """Start the subscription on first use (in the server's event loop); wait briefly for it to connect."""
        if self._task is not None and not self._task.done():
            return
        self._lock, self._connected = asyncio.Lock(), asyncio.Event()
        self._redis = Redis.from_url(str(self.redis_url), health_check_interval=10, socket_connect_timeout=2)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 2.0)

    async def _change(self, verb: str, name: str) -> None:
        """Subscribe or unsubscribe now if connected; when not, the reconnect subscribes whatever is watched."""
        assert self._lock is not None
        async with self._lock:
            if self._pubsub is None or (verb == "unsubscribe" and self.listeners.get(name)):
                return  # not connected, or a client came back to this workspace meanwhile
            with contextlib.suppress(Exception):
                await getattr(self._pubsub, verb)(name)

    async def _run(self) -> None:
        delay, lost = 0.2, False
        assert self._redis is not None and self._lock is not None and self._connected is not None
        while True:
            pubsub = self._redis.pubsub()
            try:
                async with self._lock:
                    await pubsub.subscribe(ANCHOR, *self.listeners)
                    self._pubsub = pubsub
                self._connected.set()
                if lost:
                    log.info("live updates: subscribed to Redis again")
                    self._wake_all()
                delay, lost = 0.2, False
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is not None:
                        self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Redis down or the connection dropped: retry, and re-read on return
                if not lost:
                    log.warning("live updates: Redis subscription lost (%s); retrying", err)
                lost = True
            finally:
                self._pubsub = None
                self._connected.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _dispatch(self, message: dict[str, Any]) -> None:
        name = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        try:
            body = json.loads(message["data"])
            projection, position = str(body["projection"]), int(body["position"])
        except (ValueError, TypeError, KeyError):
            return
        self.received += 1
        for listener in list(self.listeners.get(name, ())):
            listener.push(projection, position)

    def _wake_all(self) -> None:
        for listeners in list(self.listeners.values()):
            for listener in list(listeners):
                listener.push(ANY, 0)

    async def close(self) -> None:
        """Stop the subscription (app shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._redis is not None:
            await self._redis.aclose()


def message(event: str, data: Any) -> ServerSentEventMessage:
    """One SSE message with a JSON body (msgspec: datetimes, UUIDs and Structs as JSON)."""
    return ServerSentEventMessage(event=event, data=msgspec.json.encode(data).decode())


async def live_events(
    hub: LiveHub,
    workspace_id: UUID,
    projection: str,
    read: Callable[[], Awaitable[Any]],
    changes: Callable[[Any, Any], dict[str, Any]],
) -> AsyncIterator[ServerSentEventMessage]:
    """``snapshot`` first, then an ``update`` each time a notice of ``projection`` (or a heartbeat re-read) finds
    the view changed, else a ``heartbeat`` every ``hub.heartbeat_s``. ``changes(old, new)`` adds the fields saying
    what changed (an empty dict: nothing did). After ``hub.max_stream_s`` an ``end`` event closes the stream: the
    client reconnects, and its credentials and permission are checked again."""
    async with hub.listen(workspace_id) as listener:
        last = await read()
        yield message("snapshot", {"position": None, "data": last})
        sent_at = time.monotonic()
        ends_at = sent_at + hub.max_stream_s
        while True:
            left = ends_at - time.monotonic()
            if left <= 0:
                yield message("end", {"reason": "max_duration", "reconnect": True})
                return
            if await listener.wait(min(hub.heartbeat_s, left)):
                await asyncio.sleep(max(0.0, sent_at + MIN_INTERVAL_S - time.monotonic()))  # coalesce bursts
                taken = listener.take()
                if projection not in taken and ANY not in taken:
                    continue
                position: int | None = taken.get(projection)
            else:
                listener.take()
                position = None
                if time.monotonic() >= ends_at:
                    continue
            fresh = await read()
            changed = changes(last, fresh)
            if changed:
                last, sent_at = fresh, time.monotonic()
                yield message("update", {"position": position, **changed, "data": fresh})
            elif position is None:
                yield message("heartbeat", {"at": datetime.now(UTC)})
