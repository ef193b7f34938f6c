"""The Dramatiq broker. Import and call ``setup_broker`` before any actor module is imported."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker


def setup_broker(redis_url: str, namespace: str = "chatassist") -> RedisBroker:
    """Point Dramatiq at Redis (a server or the embedded one) and make it the global broker.

    ``namespace`` prefixes every Redis key, so tests can share a Redis server without stealing messages.
    """
    broker = RedisBroker(client=redis.Redis.from_url(redis_url), namespace=namespace)
    dramatiq.set_broker(broker)
    return broker
