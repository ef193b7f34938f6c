"""The delivery side of the integrations for tests that drive the real app: the integrations follower on a broker
namespace of its own and one real `chatassist worker --actors-only` process on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from chatassist.bootstrap import Container
from chatassist.integrations import start_follower
from workers.broker import setup_broker


@contextmanager
def delivery_worker(container: Container, name: str, keys_spec: str, **env: str) -> Iterator[str]:
    """Run the follower and a delivery worker (``env``: more of its environment, e.g. the vendors' URLs) until the
    block ends; yields the broker namespace. The worker is stopped by SIGTERM (killed after 15 s), the follower
    stopped and the namespace's messages flushed."""
    namespace = f"chatassist-{name}-{uuid.uuid4().hex[:8]}"
    broker = setup_broker(container.redis_url, namespace)
    from workers import delivery_actors

    for actor in delivery_actors.ACTORS.values():
        actor.broker = broker
        broker.declare_actor(actor)
    follower = start_follower(container, delivery_actors.enqueue)
    worker_env = {
        **os.environ,
        "DATABASE_URL": container.database_url,
        "REDIS_URL": container.redis_url,
        "CHATASSIST_KEYS_ENCRYPTION_KEY": keys_spec,
        "CHATASSIST_DELIVERY_TIMEOUT_S": "5",
        "CHATASSIST_BROKER_NAMESPACE": namespace,
        "CHATASSIST_DB_POOL_SIZE": "1",
        "CHATASSIST_LOG_LEVEL": "WARNING",
        **env,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "chatassist.cli", "worker", "--actors-only", "--threads", "2"],
        env=worker_env,
        stdout=subprocess.PIPE,
    )
    try:
        assert worker.stdout is not None
        assert b"worker running" in worker.stdout.readline()
        yield namespace
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        follower.stop()
        container.runners.remove(follower)
        broker.flush_all()
