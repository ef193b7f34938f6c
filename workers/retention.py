"""The retention jobs of the scheduler.

The purge of the delivery log: each workspace's finished deliveries (delivered, failed, dead) and their attempts
older than its ``analytics_retention_days`` setting are deleted. Pending and in-flight deliveries are never purged.
Events are kept (they are the auditors' record): personal data in them is erased by destroying keys instead
(``erase_expired_personal_data``)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from commands._lazy import read_or_none
from commands.application import ChatAssistApp
from commands.erase_personal_data import cmd as erase
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.errors import Conflict
from projections.integrations.projection import ATTEMPTS, DELIVERIES

log = logging.getLogger("chatassist.integrations")
PURGE = (
    f"WITH gone AS (DELETE FROM {DELIVERIES} WHERE workspace_id = %(ws)s AND status IN ('delivered', 'failed', 'dead')"
    " AND created_at < now() - make_interval(days => %(days)s) RETURNING id),"
    f" a AS (DELETE FROM {ATTEMPTS} WHERE delivery_id IN (SELECT id FROM gone))"
    " SELECT count(*) FROM gone"
)


def purge_delivery_logs(app: ChatAssistApp, database_url: str, leadership: Any = None) -> dict[str, int]:
    """Purge each workspace's delivery log past its retention window; returns the deliveries deleted per workspace."""
    if leadership is not None and not leadership.is_leader():
        return {}
    purged: dict[str, int] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        workspaces = [r[0] for r in conn.execute(f"SELECT DISTINCT workspace_id FROM {DELIVERIES}").fetchall()]
        for workspace_id in workspaces:
            stored = read_or_none(app, app_settings_id(workspace_id), AppSettings)
            days = (stored.values if stored else AppSettingsValues()).analytics_retention_days
            row = conn.execute(PURGE, {"ws": workspace_id, "days": days}).fetchone()
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
