"""Dependencies shared by controllers: the caller's workspace from the widget key or the member's session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request

from commands.chat_turn.service import ChatService
from domain.errors import NotFound, Unauthorized
from domain.workspace import Workspace
from web.auth import authenticate, credential
from web.guards import GUARDS

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


async def transcript_workspace_id(request: Request[Any, Any, Any], chat: ChatService) -> UUID:
    """Whose conversations the caller may read: the widget key's workspace, else a member's with chat.monitor."""
    if request.headers.get(WIDGET_KEY_HEADER, "").strip():
        return (await widget_workspace(request, chat)).id
    if credential(request) is None:  # the widget's code for "no credential", kept for widget clients
        raise Unauthorized(
            "Send the workspace's widget key in the X-Widget-Key header, or sign in as a member.",
            code="missing_widget_key",
        )
    await GUARDS["chat.monitor"](request, request.route_handler)
    return (await authenticate(request)).workspace_id
