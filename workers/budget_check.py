"""The budget-threshold job (the scheduler): for each workspace that used tokens this month, announce the thresholds
of its monthly token budget it has reached (80 %, 95 %, 100 %, once per month each)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg

from commands.application import ChatAssistApp
from commands.integrations.budget import announce

log = logging.getLogger("chatassist.integrations")
USED = (
    "SELECT workspace_id, input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS used"
    " FROM usage_v1_monthly WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date"
)


def check_budget_thresholds(app: ChatAssistApp, database_url: str, leadership: Any = None) -> dict[str, list[int]]:
    """Announce what each workspace has reached; returns the thresholds recorded now, per workspace."""
    if leadership is not None and not leadership.is_leader():
        return {}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(USED).fetchall()
    now, out = datetime.now(UTC), {}
    for workspace_id, used in rows:
        try:
            recorded = announce(app, workspace_id, int(used), now)
        except Exception:
            log.warning("budget thresholds of workspace %s not checked", workspace_id, exc_info=True)
            continue
        if recorded:
            out[str(workspace_id)] = recorded
    return out
