"""The delivery sweep (a scheduler job): re-enqueue deliveries whose message was lost, whose lease expired, or whose
long retry is due. Sending twice is harmless: the actor's claim is conditional (workers/deliver.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg

from projections.integrations.projection import DELIVERIES, TARGETS

log = logging.getLogger("chatassist.integrations")
# A message sent by the follower or a retry is given `grace` seconds to be taken before the sweep sends another.
SWEEP = (
    f"UPDATE {DELIVERIES} SET enqueued_at = now() WHERE id IN (SELECT id FROM {DELIVERIES} WHERE"
    " (status = 'pending' AND next_attempt_at <= now() AND ("
    "   (enqueued_at IS NULL AND (attempts > 0 OR next_attempt_at <= now() - make_interval(secs => %(grace)s)))"
    "   OR enqueued_at <= now() - make_interval(secs => %(grace)s)))"
    " OR (status = 'delivering' AND lease_until < now()"
    "   AND coalesce(enqueued_at, '-infinity') <= now() - make_interval(secs => %(grace)s))"
    " ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) RETURNING kind, id::text AS id"
)


def sweep(database_url: str, enqueue: Callable[[list[tuple[str, str]]], Any], grace_s: float = 30.0) -> int:
    """Re-enqueue what is due and not in flight; returns how many."""
    total = 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            rows = conn.execute(SWEEP, {"grace": grace_s, "limit": 1000}).fetchall()
            if rows:
                enqueue([(str(kind), str(delivery_id)) for kind, delivery_id in rows])
            total += len(rows)
            if len(rows) < 1000:
                break
    if total:
        log.info("sweep: re-enqueued %d deliveries", total)
    return total


def sweep_job(
    database_url: str, enqueue: Callable[[list[tuple[str, str]]], Any], grace_s: float, leadership: Any
) -> int:
    """The scheduler's job: sweep when this process is the active scheduler."""
    if not leadership.is_leader():
        return 0
    try:
        return sweep(database_url, enqueue, grace_s)
    except Exception:  # the database or Redis down: the next run tries again
        log.warning("delivery sweep failed", exc_info=True)
        return 0


FAILING_FOR = (
    f"SELECT d.workspace_id, d.target_id FROM {DELIVERIES} d JOIN {TARGETS} t ON t.target_id = d.target_id"
    " WHERE t.kind = 'webhook' AND t.enabled AND NOT t.removed AND d.attempts > 0"
    " AND d.created_at > now() - make_interval(days => %(days)s * 6)"
    " GROUP BY d.workspace_id, d.target_id"
    " HAVING count(*) FILTER (WHERE d.delivered_at >= now() - make_interval(days => %(days)s)) = 0"
    " AND min(d.last_attempt_at) FILTER (WHERE d.status <> 'delivered') <= now() - make_interval(days => %(days)s)"
    " AND max(d.last_attempt_at) FILTER (WHERE d.status <> 'delivered') > now() - make_interval(days => 1)"
)


def disable_failing_endpoints(
    database_url: str, disable: Callable[[Any, str, str], Any], days: int = 5, leadership: Any = None
) -> list[str]:
    """Disable (by an event, via ``disable(workspace id, endpoint id, reason)``) each enabled webhook endpoint whose
    deliveries have all failed for ``days`` days: failing since then, still failing today, none delivered since."""
    if leadership is not None and not leadership.is_leader():
        return []
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(FAILING_FOR, {"days": days}).fetchall()
    disabled = []
    for workspace_id, endpoint_id in rows:
        try:
            disable(workspace_id, str(endpoint_id), f"Every delivery failed for {days} days.")
            disabled.append(str(endpoint_id))
        except Exception:
            log.warning("could not disable endpoint %s", endpoint_id, exc_info=True)
    return disabled
