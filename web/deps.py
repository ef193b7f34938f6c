"""Dependencies shared by controllers: the caller's workspace from the widget key or the member's session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request

from commands._widget_security import WidgetGuard
from commands.chat_turn.service import ChatService
from domain.errors import NotFound, Unauthorized
from domain.widget_security import WidgetPolicy
from domain.workspace import Workspace
from web.auth import authenticate, credential
from web.cors import ALLOWED, REFUSED, WIDGET_ORIGIN
from web.guards import GUARDS

WIDGET_KEY_HEADER = "X-Widget-Key"
USER_ID_HEADER, USER_SIGNATURE_HEADER = "X-User-Id", "X-User-Signature"
VISITOR_TOKEN_HEADER = "X-Visitor-Token"
POLICY = "chatassist.widget_policy"


async def widget_workspace(request: Request[Any, Any, Any], chat: ChatService, widget_guard: WidgetGuard) -> Workspace:
    """The workspace of the widget key, once the request's Origin is one the workspace allows (403 otherwise)."""
    workspace = await key_workspace(request, chat)
    policy = widget_guard.cached(workspace.id)  # fresh in this process: no worker-thread hop (ADR 0064)
    if policy is None:
        policy = await anyio.to_thread.run_sync(widget_guard.policy, workspace.id)
    origin = request.headers.get("origin")
    try:
        widget_guard.check_origin(policy, origin)
    except Exception:
        request.state[WIDGET_ORIGIN] = REFUSED
        raise
    if policy.allowed_origins:
        request.state[WIDGET_ORIGIN] = ALLOWED
    request.state[POLICY] = policy
    return workspace


def widget_policy(request: Request[Any, Any, Any]) -> WidgetPolicy:
    """The policy read by ``widget_workspace`` for this request."""
    policy: WidgetPolicy = request.state[POLICY]
    return policy


async def check_widget_visitor(
    request: Request[Any, Any, Any], widget_guard: WidgetGuard, workspace_id: UUID, conversation_id: UUID
) -> None:
    """The conversation must be the widget's own: with identity verification on, X-User-Id / X-User-Signature
    must match and the conversation be theirs; otherwise X-Visitor-Token must be the conversation's visitor token
    (the public widget key alone opens no conversation: docs/widget-security.md)."""
    policy = widget_policy(request)
    if not policy.require_identity_verification:
        token = request.headers.get(VISITOR_TOKEN_HEADER)
        await anyio.to_thread.run_sync(widget_guard.check_visitor_token, workspace_id, conversation_id, token)
        return
    user_id = request.headers.get(USER_ID_HEADER, "").strip()[:200] or None
    signature = request.headers.get(USER_SIGNATURE_HEADER, "").strip() or None
    widget_guard.check_identity(workspace_id, policy, user_id, signature)
    assert user_id is not None
    await anyio.to_thread.run_sync(widget_guard.check_owner, workspace_id, conversation_id, user_id)


async def key_workspace(request: Request[Any, Any, Any], chat: ChatService) -> Workspace:
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


async def transcript_workspace_id(
    request: Request[Any, Any, Any], chat: ChatService, widget_guard: WidgetGuard, conversation_id: UUID
) -> UUID:
    """Whose conversations the caller may read: the widget key's workspace (its origin and, when required, the
    visitor's signature checked, and then only the visitor's own conversations), else a member's with chat.monitor.
    """
    if request.headers.get(WIDGET_KEY_HEADER, "").strip():
        workspace = await widget_workspace(request, chat, widget_guard)
        await check_widget_visitor(request, widget_guard, workspace.id, conversation_id)
        return workspace.id
    if credential(request) is None:  # the widget's code for "no credential", kept for widget clients
        raise Unauthorized(
            "Send the workspace's widget key in the X-Widget-Key header, or sign in as a member.",
            code="missing_widget_key",
        )
    await GUARDS["chat.monitor"](request, request.route_handler)
    return (await authenticate(request)).workspace_id
