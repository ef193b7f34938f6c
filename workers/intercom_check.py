"""The daily Intercom token check (a scheduler job): ``GET /me`` with each workspace's stored token, the outcome
recorded as an event (connected, or disconnected with when and why)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from commands.application import ChatAssistApp
from commands.integrations.intercom import recheck
from commands.provider_keys.cipher import KeyCipher
from projections.integrations.projection import TARGETS

log = logging.getLogger("chatassist.integrations")


def check_intercom_tokens(
    app: ChatAssistApp, cipher: KeyCipher | None, api_url: str | None, database_url: str, leadership: Any = None
) -> dict[str, bool | None]:
    """Check every connected workspace's token (when this process leads); returns each workspace's outcome."""
    if leadership is not None and not leadership.is_leader():
        return {}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"SELECT workspace_id FROM {TARGETS} WHERE kind = 'intercom' AND NOT removed").fetchall()
    outcomes: dict[str, bool | None] = {}
    for (workspace_id,) in rows:
        try:
            outcomes[str(workspace_id)] = recheck(app, cipher, api_url, workspace_id)
        except Exception:  # one workspace's failure does not stop the others
            log.warning("intercom token check of workspace %s failed", workspace_id, exc_info=True)
    return outcomes
