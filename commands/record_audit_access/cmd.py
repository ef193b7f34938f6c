"""RecordAuditAccess: save one ``AuditAccess`` event, after the access was checked and before its answer is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from commands.application import ChatAssistApp
from domain.audit_access import AuditAccess


@dataclass(frozen=True)
class RecordAuditAccess:
    """``by``: the member's account (None: the CLI, run by whoever holds the server's credentials)."""

    workspace_id: UUID
    by: UUID | None
    action: str
    conversation_id: UUID | None  # None: an export of a date range
    details: dict[str, Any] = field(default_factory=dict)


def execute(app: ChatAssistApp, cmd: RecordAuditAccess) -> UUID:
    """Store the access (its own new stream: never conflicts); returns its id."""
    access = AuditAccess(cmd.workspace_id, cmd.by, cmd.action, cmd.conversation_id, cmd.details)
    app.save(access)
    return access.id
