"""The agents' monitor under /api/monitor: members with monitor.read, their own workspace only."""

from __future__ import annotations

from uuid import UUID

from litestar import Router
from litestar.di import Provide

from read_api.get_monitor.controller import MonitorController
from web.auth import Member
from web.guards import GUARDS


async def monitor_workspace_id(current_member: Member) -> UUID:
    """The workspace of the caller's session: the only one the monitor may show."""
    return current_member.workspace_id


async def monitor_account_id(current_member: Member) -> UUID:
    """The caller's account (``assignee=me``)."""
    return current_member.account_id


def monitor_router() -> Router:
    """GET /api/monitor and /api/monitor/live, guarded by the monitor.read permission."""
    return Router(
        path="/",
        route_handlers=[MonitorController],
        guards=[GUARDS["monitor.read"]],
        dependencies={
            "monitor_workspace_id": Provide(monitor_workspace_id),
            "monitor_account_id": Provide(monitor_account_id),
        },
    )
