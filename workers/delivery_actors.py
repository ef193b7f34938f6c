"""Dramatiq actors of the integrations: one queue per vendor, each takes a delivery id and is safe to run twice.

Dramatiq's own retries are off (``max_retries=0``): the retry schedule, its jitter and ``Retry-After`` are decided
by workers/deliver.py and kept in PostgreSQL; a retry is a delayed message here, or the sweep's for long waits.
"""

from __future__ import annotations

import dramatiq

from workers.deliver import get_deliverer

QUEUES = {
    "webhook": "integrations.webhooks",
    "slack": "integrations.slack",
    "zendesk": "integrations.zendesk",
    "hubspot": "integrations.hubspot",
}
TIME_LIMIT_MS = 120_000
# Ids per message: one claim, one record and one broker message for up to this many deliveries (a worker thread
# sends them one after the other; workers/deliver.py stops a batch at half its lease).
BATCH = 20  # a backstop only: each attempt has its own connect/read timeouts


@dramatiq.actor(queue_name=QUEUES["webhook"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_webhook(*delivery_ids: str) -> None:
    """One attempt at each signed webhook delivery named (the follower sends up to ``BATCH`` per message)."""
    get_deliverer().deliver_many(list(delivery_ids))


@dramatiq.actor(queue_name=QUEUES["slack"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_slack(*delivery_ids: str) -> None:
    """One attempt at each Slack message named."""
    get_deliverer().deliver_many(list(delivery_ids))


@dramatiq.actor(queue_name=QUEUES["zendesk"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_zendesk(*delivery_ids: str) -> None:
    """One attempt at each Zendesk ticket change named."""
    get_deliverer().deliver_many(list(delivery_ids))


@dramatiq.actor(queue_name=QUEUES["hubspot"], max_retries=0, time_limit=TIME_LIMIT_MS)
def deliver_hubspot(*delivery_ids: str) -> None:
    """One attempt at each HubSpot contact and note named."""
    get_deliverer().deliver_many(list(delivery_ids))


ACTORS = {"webhook": deliver_webhook, "slack": deliver_slack, "zendesk": deliver_zendesk, "hubspot": deliver_hubspot}


def enqueue(items: list[tuple[str, str]]) -> None:
    """Send the (kind, delivery id) pairs to their kind's queue, up to ``BATCH`` ids per message in their order."""
    by_kind: dict[str, list[str]] = {}
    for kind, delivery_id in items:
        by_kind.setdefault(kind, []).append(delivery_id)
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), BATCH):
            ACTORS[kind].send(*ids[start : start + BATCH])


def retry_later(kind: str, delivery_id: str, delay_s: float) -> None:
    """Send the delivery's message again after ``delay_s`` (a delayed message: no thread waits for it)."""
    ACTORS[kind].send_with_options(args=(delivery_id,), delay=max(0, int(delay_s * 1000)))
