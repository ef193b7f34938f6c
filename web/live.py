"""Wake-ups for the visitor's live stream, through Redis pub/sub, so any web process can serve any stream.

After an agent command's save, the web process publishes "conversation X changed" on ``chatassist:conv:X``. Each
web process holds one pattern subscription (a thread on its own Redis connection) and wakes the streams of X it
serves; they then re-read the conversation's events from the event store. A wake-up carries no data: the event
store is the truth, so a lost publish (Redis down, a process that published nothing) only costs latency, bounded
by each stream's periodic re-read.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

import anyio.to_thread
import redis

log = logging.getLogger("chatassist.live")
CHANNEL_PREFIX = "chatassist:conv:"


class ConversationSignals:
    """Publish and receive "conversation changed" wake-ups (``client`` None: no Redis, re-reads only)."""

    def __init__(self, client: redis.Redis | None, prefix: str = CHANNEL_PREFIX) -> None:
        self.client, self.prefix = client, prefix
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.subscribed = threading.Event()  # set while the subscription is live (tests wait on it)

    def publish(self, conversation_id: UUID) -> None:
        """Tell every web process the conversation changed; best effort (blocks: call from a thread)."""
        if self.client is None:
            return
        try:
            self.client.publish(self.prefix + str(conversation_id), b"1")
        except redis.RedisError as err:  # the streams' periodic re-read delivers it anyway
            log.warning("could not publish a conversation wake-up: %s", type(err).__name__)

    async def changed(self, conversation_id: UUID) -> None:
        """``publish`` from async code."""
        await anyio.to_thread.run_sync(self.publish, conversation_id)

    @contextmanager
    def waiter(self, conversation_id: UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the conversation changes, for the calling event loop's stream."""
        wake, key = asyncio.Event(), str(conversation_id)
        entry = (asyncio.get_running_loop(), wake)
        with self._lock:
            self._waiters.setdefault(key, set()).add(entry)
        self._ensure_listening()
        try:
            yield wake
        finally:
            with self._lock:
                waiting = self._waiters.get(key)
                if waiting is not None:
                    waiting.discard(entry)
                    if not waiting:
                        del self._waiters[key]

    def _ensure_listening(self) -> None:
        with self._lock:
            if self.client is None or (self._thread is not None and self._thread.is_alive()):
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name="conversation-signals", daemon=True)
            self._thread.start()

    def _wake(self, key: str) -> None:
        with self._lock:
            entries = list(self._waiters.get(key, ()))
        for loop, wake in entries:
            with suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(wake.set)

    def _listen(self) -> None:
        assert self.client is not None
        backoff = 0.5
        while not self._stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(self.prefix + "*")
                self.subscribed.set()
                backoff = 0.5
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "pmessage":
                        channel = message["channel"]
                        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
                        self._wake(channel[len(self.prefix) :])
            except (redis.RedisError, OSError, ValueError) as err:  # ValueError: the client was closed under us
                log.warning("conversation wake-ups lost (%s); streams fall back to re-reading", type(err).__name__)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.subscribed.clear()
                with suppress(redis.RedisError, OSError, ValueError):
                    pubsub.close()

    def close(self) -> None:
        """Stop listening (the app's shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
