"""The audit log endpoints under /api/audit: members with audit.read (admins), their own workspace only."""

from __future__ import annotations

from uuid import UUID

from litestar import Router
from litestar.di import Provide

from read_api._analytics import AnalyticsSource
from read_api.get_audit_log.controller import AuditController
from read_api.get_audit_log.query import AuditSource
from web.auth import Member
from web.guards import GUARDS


async def audit_workspace_id(current_member: Member) -> UUID:
    """The workspace of the caller's session: the only one whose audit log may be read."""
    return current_member.workspace_id


async def audit_source(analytics: AnalyticsSource) -> AuditSource:
    """The audit queries run through the app's read view (any view on the database will do)."""
    return analytics


def audit_router() -> Router:
    """GET /api/audit and /api/audit/export, guarded by the audit.read permission."""
    return Router(
        path="/api/audit",
        route_handlers=[AuditController],
        guards=[GUARDS["audit.read"]],
        dependencies={
            "audit_workspace_id": Provide(audit_workspace_id),
            "audit_source": Provide(audit_source),
        },
    )
