"""GET /api/monitor (a page of a view) and /api/monitor/live (SSE): the caller's workspace only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from projections.monitor.projection import MonitorProjection
from read_api._live import LiveHub, live_events
from read_api._params import check_parameters
from read_api._reads import AsyncReader
from read_api.get_monitor.query import (
    DEFAULT_LIMIT,
    MonitorFilter,
    MonitorPage,
    monitor_filter,
    plan_monitor,
)

View = Annotated[str, QueryParameter(description="active, queue, escalations or closed")]
Route = Annotated[str | None, QueryParameter(description="only this team's conversations (the escalation route)")]
Assignee = Annotated[
    str | None, QueryParameter(description="an agent's account id, me (the caller) or none (unassigned)")
]
Limit = Annotated[int, QueryParameter(description="rows per page, 1 to 200")]
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def _filter(
    request: Request[Any, Any, Any], caller: UUID, view: str, route: str | None, assignee: str | None, **rest: Any
) -> MonitorFilter:
    allowed = ("view", "route", "assignee", "limit", *(("cursor",) if "cursor" in rest else ()))
    check_parameters(request, allowed)
    return monitor_filter(view, route, str(caller) if assignee == "me" else assignee, **rest)


def changed_rows(old: MonitorPage, new: MonitorPage) -> dict[str, Any]:
    """Which conversations entered, left or changed on the page (nothing when only ``as_of`` moved)."""
    before = {row.id: msgspec.json.encode(row) for row in old.items}
    after = {row.id: msgspec.json.encode(row) for row in new.items}
    ids = [i for i in after if before.get(i) != after[i]] + [i for i in before if i not in after]
    if not ids and list(before) == list(after):
        return {}
    return {"changed": ids}


class MonitorController(Controller):
    """``monitor_workspace_id`` and ``monitor_account_id`` come from the web layer: the signed-in member's, once
    the monitor.read permission is checked."""

    path = "/api/monitor"
    tags = ["monitor"]

    @get("/", operation_id="getMonitor", summary="A page of the monitor: active, queue, escalations or closed")
    async def page(
        self,
        request: Request[Any, Any, Any],
        reader: AsyncReader,
        monitor_workspace_id: UUID,
        monitor_account_id: UUID,
        view: View = "active",
        route: Route = None,
        assignee: Assignee = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of the previous page")] = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> MonitorPage:
        """Rows in the view's order; follow ``next_cursor`` for the next page."""
        f = _filter(request, monitor_account_id, view, route, assignee, cursor=cursor, limit=limit)
        return await reader.run(plan_monitor(monitor_workspace_id, f))

    @get(
        "/live",
        operation_id="streamMonitor",
        summary="Server-sent events: the first page of a monitor view, again each time it changes",
        response_description="text/event-stream of snapshot, update and heartbeat events (docs/monitor.md)",
    )
    async def live(
        self,
        request: Request[Any, Any, Any],
        reader: AsyncReader,
        monitor_workspace_id: UUID,
        monitor_account_id: UUID,
        live_hub: LiveHub,
        view: View = "active",
        route: Route = None,
        assignee: Assignee = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> ServerSentEvent:
        """``snapshot``, then ``update`` (with the ids that changed) whenever the page changes."""
        f = _filter(request, monitor_account_id, view, route, assignee, limit=limit)

        async def read() -> MonitorPage:
            return await reader.run(plan_monitor(monitor_workspace_id, f))

        events: AsyncIterator[ServerSentEventMessage] = live_events(
            live_hub, monitor_workspace_id, MonitorProjection.name, read, changed_rows
        )
        return ServerSentEvent(events, headers=SSE_HEADERS)
