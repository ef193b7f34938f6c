"""Dramatiq actors of the integrations: one queue per vendor, each takes a delivery id and is safe to run twice.

Dramatiq's own retries are off (``max_retries=0``): the retry schedule, its jitter and ``Retry-After`` are decided
by workers/deliver.py and kept in PostgreSQL; a retry is a delayed message here, or the sweep's for long waits.
"""

from __future__ import annotations

import dramatiq

from workers.deliver import get_deliverer

QUEUES = {"webhook": "integrations.webhooks", "slack": "integrations.slack"}
TIME_LIMIT_MS = 120_000  # a backstop only: each attempt has its own connect/read timeouts


@dramatiq.actor(queue_name=QUEUES["webhook"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_webhook(delivery_id: str) -> None:
    """One attempt at a signed webhook delivery."""
    get_deliverer().deliver(delivery_id)


@dramatiq.actor(queue_name=QUEUES["slack"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_slack(delivery_id: str) -> None:
    """One attempt at a Slack message."""
    get_deliverer().deliver(delivery_id)


ACTORS = {"webhook": deliver_webhook, "slack": deliver_slack}


def enqueue(items: list[tuple[str, str]]) -> None:
    """Send a message per (kind, delivery id) to the kind's queue."""
    for kind, delivery_id in items:
        ACTORS[kind].send(delivery_id)


def retry_later(kind: str, delivery_id: str, delay_s: float) -> None:
    """Send the delivery's message again after ``delay_s`` (a delayed message: no thread waits for it)."""
    ACTORS[kind].send_with_options(args=(delivery_id,), delay=max(0, int(delay_s * 1000)))
