"""One body for the handlers that change a conversation: run the command (load, check, save) off the event loop,
then wake the conversation's live streams (the visitor's widget, the agent's screen)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread

from commands.application import ChatAssistApp
from web.live import ConversationSignals

R = TypeVar("R")


async def change_conversation(
    app: ChatAssistApp,
    execute: Callable[[ChatAssistApp, Any], R],
    command: Any,
    conversation_id: UUID,
    signals: ConversationSignals | None = None,
) -> R:
    """``execute(app, command)`` in a worker thread; then, with ``signals``, tell the conversation's live streams
    that it changed. Returns what ``execute`` returned (the conversation as saved, or with its new item's id)."""
    saved = await anyio.to_thread.run_sync(execute, app, command)
    if signals is not None:
        await signals.changed(conversation_id)
    return saved
