"""Dependencies shared by controllers: the caller's workspace from the widget key."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request

from commands.chat_turn.service import ChatService
from domain.errors import NotFound, Unauthorized
from domain.workspace import Workspace

WIDGET_KEY_HEADER = "X-Widget-Key"


async def widget_workspace(request: Request[Any, Any, Any], chat: ChatService) -> Workspace:
    """The workspace whose public widget key is in ``X-Widget-Key`` (401 if missing or unknown)."""
    key = request.headers.get(WIDGET_KEY_HEADER, "").strip()
    if not key:
        raise Unauthorized("Send the workspace's widget key in the X-Widget-Key header.", code="missing_widget_key")
    if len(key) > 200:
        raise Unauthorized(
            "Unknown widget key: check the data-widget-key of your script tag.", code="unknown_widget_key"
        )
    try:
        return await chat.workspace(key)
    except NotFound:
        raise Unauthorized(
            "Unknown widget key: check the data-widget-key of your script tag.", code="unknown_widget_key"
        ) from None


async def widget_workspace_id(widget_workspace: Workspace) -> UUID:
    """Just the id, for read endpoints."""
    return widget_workspace.id
