"""The retention purge (a daily scheduler job): for each workspace, the read-model rows older than its
``analytics_retention_days`` setting are deleted. Events are kept (they are the auditors' record), so a projection
rebuild brings the purged rows back; every rebuild pass (the library's ``rebuild()`` / ``rebuild_all()`` and
``chatassist projections rebuild``) purges again once it has swapped the tables in (chatassist/rebuild.py, ADR 0058).

What is purged, per workspace, with the cut-off ``now - analytics_retention_days``:

- conversations whose last activity is older: their transcript (conversation and messages), monitor row, analytics
  row, the integrations follower's copy (visitor, summary, transcript) and the knowledge citations of their replies;
- model-call usage by 15-minute slot and by hour older than the cut-off less one day (a day of any time zone that
  starts inside the window keeps all its slots);
- knowledge gaps (the visitors' unanswered questions) last asked before the cut-off;
- finished deliveries (delivered, failed, dead) and their attempts; pending and in-flight ones stay.

Kept: the audit log (the auditors' record, like the events), monthly token usage (the budget's count, no personal
data), workspace and knowledge-base rows (configuration, not history). A later event about a purged conversation
does not break a projection: their handlers skip a conversation they have no row for.

Personal data in the events is erased by destroying keys instead (``erase_expired_personal_data``, ADR 0044).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from commands._lazy import read_or_none
from commands.application import ChatAssistApp
from commands.erase_personal_data import cmd as erase
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.errors import Conflict
from projections.analytics.projection import CONVERSATIONS as ANALYTICS_CONVERSATIONS
from projections.analytics.projection import USAGE_HOURLY, USAGE_SLOTS, WORKSPACES
from projections.integrations.projection import ATTEMPTS, DELIVERIES
from projections.integrations.projection import CONVERSATIONS as INTEGRATION_CONVERSATIONS
from projections.knowledge.view import PREFIX as KNOWLEDGE
from projections.monitor.projection import CONVERSATIONS as MONITOR_CONVERSATIONS
from projections.transcripts.projection import CONVERSATIONS as TRANSCRIPTS
from projections.transcripts.projection import MESSAGES

log = logging.getLogger("chatassist.retention")
CUTOFF = "now() - make_interval(days => %(days)s)"
PURGE = (
    f"WITH gone AS (DELETE FROM {DELIVERIES} WHERE workspace_id = %(ws)s AND status IN ('delivered', 'failed', 'dead')"
    f" AND created_at < {CUTOFF} RETURNING id),"
    f" a AS (DELETE FROM {ATTEMPTS} WHERE delivery_id IN (SELECT id FROM gone))"
    " SELECT count(*) FROM gone"
)
# (what, statement returning the number of rows deleted); each runs in the workspace's one transaction
READ_MODELS: tuple[tuple[str, str], ...] = (
    (
        "transcripts",
        f"WITH gone AS (DELETE FROM {TRANSCRIPTS} WHERE workspace_id = %(ws)s AND last_activity_at < {CUTOFF}"
        " RETURNING id),"
        f" m AS (DELETE FROM {MESSAGES} WHERE conversation_id IN (SELECT id FROM gone)),"
        f" c AS (DELETE FROM {KNOWLEDGE}_citations WHERE conversation_id IN (SELECT id FROM gone)),"
        f" i AS (DELETE FROM {INTEGRATION_CONVERSATIONS} WHERE id IN (SELECT id FROM gone))"
        " SELECT count(*) FROM gone",
    ),
    (
        "monitor",
        f"WITH gone AS (DELETE FROM {MONITOR_CONVERSATIONS} WHERE workspace_id = %(ws)s"
        f" AND last_activity_at < {CUTOFF} RETURNING 1) SELECT count(*) FROM gone",
    ),
    (
        "analytics",
        f"WITH gone AS (DELETE FROM {ANALYTICS_CONVERSATIONS} WHERE workspace_id = %(ws)s"
        f" AND last_activity_at < {CUTOFF} RETURNING 1) SELECT count(*) FROM gone",
    ),
    (
        "usage_slots",
        f"WITH s AS (DELETE FROM {USAGE_SLOTS} WHERE workspace_id = %(ws)s AND slot < {CUTOFF} - interval '1 day'"
        f" RETURNING 1), h AS (DELETE FROM {USAGE_HOURLY} WHERE workspace_id = %(ws)s"
        f" AND slot < {CUTOFF} - interval '1 day' RETURNING 1)"
        " SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM h)",
    ),
    (
        "knowledge_gaps",
        f"WITH gone AS (DELETE FROM {KNOWLEDGE}_gaps WHERE workspace_id = %(ws)s AND last_seen < {CUTOFF}"
        " RETURNING 1) SELECT count(*) FROM gone",
    ),
)


def retention_days(app: ChatAssistApp, workspace_id: Any) -> int:
    """The workspace's ``analytics_retention_days`` (the default when it never changed its settings)."""
    stored = read_or_none(app, app_settings_id(workspace_id), AppSettings)
    return (stored.values if stored else AppSettingsValues()).analytics_retention_days


def purge_delivery_logs(app: ChatAssistApp, database_url: str, leadership: Any = None) -> dict[str, int]:
    """Purge each workspace's delivery log past its retention window; returns the deliveries deleted per workspace."""
    if leadership is not None and not leadership.is_leader():
        return {}
    purged: dict[str, int] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        workspaces = [r[0] for r in conn.execute(f"SELECT DISTINCT workspace_id FROM {DELIVERIES}").fetchall()]
        for workspace_id in workspaces:
            row = conn.execute(PURGE, {"ws": workspace_id, "days": retention_days(app, workspace_id)}).fetchone()
            if row and row[0]:
                purged[str(workspace_id)] = int(row[0])
    if purged:
        log.info("retention: purged %d deliveries", sum(purged.values()))
    return purged


def erase_expired_personal_data(app: ChatAssistApp, leadership: Any = None) -> dict[str, int]:
    """The retention of personal data (a scheduler job, ADR 0044): in each workspace, the conversations idle for
    more than its ``personal_data_retention_days`` (0: never) are erased like an erasure request (their keys
    destroyed, a ``PersonalDataErased`` event with no actor and reason ``retention``). Returns the conversations
    erased per workspace."""
    if leadership is not None and not leadership.is_leader():
        return {}
    erased: dict[str, int] = {}
    for workspace_id in erase.workspaces_with_keys(app):
        stored = read_or_none(app, app_settings_id(workspace_id), AppSettings)
        days = (stored.values if stored else AppSettingsValues()).personal_data_retention_days
        if days <= 0:
            continue
        while due := erase.expired_conversations(app, workspace_id, days):
            try:
                done = erase.erase_conversations(app, due, by=None, reason=erase.RETENTION)
            except Conflict:  # an erasure request took them meanwhile
                continue
            erased[str(workspace_id)] = erased.get(str(workspace_id), 0) + len(done.conversations)
    if erased:
        log.info("retention: erased the personal data of %d conversations", sum(erased.values()))
    return erased


def purge_read_models(app: ChatAssistApp, database_url: str, leadership: Any = None) -> dict[str, dict[str, int]]:
    """Purge each workspace's read-model rows past its retention window (one transaction per workspace); returns
    the rows deleted per workspace and read model (only those with any)."""
    if leadership is not None and not leadership.is_leader():
        return {}
    purged: dict[str, dict[str, int]] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        workspaces = [r[0] for r in conn.execute(f"SELECT workspace_id FROM {WORKSPACES}").fetchall()]
        for workspace_id in workspaces:
            params = {"ws": workspace_id, "days": retention_days(app, workspace_id)}
            counts: dict[str, int] = {}
            with conn.transaction():
                for what, statement in READ_MODELS:
                    row = conn.execute(statement, params).fetchone()
                    if row and row[0]:
                        counts[what] = int(row[0])
            if counts:
                purged[str(workspace_id)] = counts
    if purged:
        log.info("retention: purged %d read-model rows", sum(sum(c.values()) for c in purged.values()))
    return purged


def purge_expired(app: ChatAssistApp, database_url: str, leadership: Any = None) -> dict[str, Any]:
    """The daily job: the read models, then the delivery logs."""
    return {
        "read_models": purge_read_models(app, database_url, leadership),
        "deliveries": purge_delivery_logs(app, database_url, leadership),
    }
