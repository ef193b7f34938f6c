"""Wake-ups between web processes through the real Redis (web/live.py): two ConversationSignals, as two processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import redis

from web.live import ConversationSignals


def test_a_publish_in_one_process_wakes_the_streams_of_that_conversation_in_another(
    service_urls: tuple[str, str],
) -> None:
    prefix = f"test-conv-{uuid.uuid4().hex[:8]}:"
    publisher = ConversationSignals(redis.Redis.from_url(service_urls[1]), prefix=prefix)
    listener = ConversationSignals(redis.Redis.from_url(service_urls[1]), prefix=prefix)
    watched, other = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> tuple[float, bool]:
        # Given a stream of ``watched`` and one of another conversation, served by the listening process
        with listener.waiter(watched) as wake, listener.waiter(other) as bystander:
            assert await asyncio.to_thread(listener.subscribed.wait, 5)
            # When the other process publishes that ``watched`` changed
            started = time.monotonic()
            await publisher.changed(watched)
            await asyncio.wait_for(wake.wait(), timeout=2)
            # Then that stream wakes at once, and the other conversation's does not
            await asyncio.sleep(0.2)
            return time.monotonic() - started, bystander.is_set()

    try:
        elapsed, bystander_woken = asyncio.run(scenario())
    finally:
        listener.close()
    assert elapsed < 1.0 and not bystander_woken
    assert listener._waiters == {}  # every waiter left


def test_without_redis_publishing_is_a_no_op_and_waiters_still_work() -> None:
    signals = ConversationSignals(None)
    signals.publish(uuid.uuid4())

    async def scenario() -> bool:
        with signals.waiter(uuid.uuid4()) as wake:
            return wake.is_set()

    assert asyncio.run(scenario()) is False


def test_a_redis_outage_is_logged_and_not_raised() -> None:
    # Given a client pointed at a port where nothing listens
    signals = ConversationSignals(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    # When publishing, then nothing is raised (the streams' re-read delivers the change)
    signals.publish(uuid.uuid4())
    signals.close()
