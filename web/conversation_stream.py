"""GET /api/conversations/{id}/events: the visitor's live stream of what people do in their conversation.

Lossless by construction: on connect and after every wake-up (web/live.py) or every ``POLL_S`` seconds, it reads the
conversation's events after the last version it sent, from the event store. Each message's SSE ``id`` is that event's
version, so a reconnect with ``Last-Event-ID`` (browsers send it) or ``?after=`` resumes exactly where it stopped.
The stream ends after ``closed``, or after ``MAX_STREAM_S`` (the client reconnects). See docs/handoff.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from commands import _timeline as timeline
from commands._agent import agent_display_name
from commands._widget_security import WidgetGuard
from commands.chat_turn.service import ChatService
from domain.errors import InvalidInput
from domain.workspace import Workspace
from web.deps import check_widget_visitor
from web.live import ConversationSignals

POLL_S = 3.0  # the safety net when a wake-up is lost
KEEPALIVE_S = 15.0  # a comment line, so proxies and browsers keep an idle stream open
MAX_STREAM_S = 300.0  # then the stream ends and the client resumes with Last-Event-ID (bounds each connection)
MAX_VERSION = 2**31 - 1


def parse_after(last_event_id: str | None, after: str | None) -> int:
    """The version to resume after: Last-Event-ID wins over ?after=; neither is 0 (from the start)."""
    raw = last_event_id if last_event_id not in (None, "") else after
    if raw in (None, ""):
        return 0
    assert raw is not None
    if not raw.strip().isdigit() or int(raw) > MAX_VERSION:
        raise InvalidInput(
            "after (or Last-Event-ID) must be a whole number: the id of the last event you received, or 0.",
            code="invalid_after",
        )
    return int(raw)


class ConversationStreamController(Controller):
    """The widget's read stream, authenticated by the public widget key like its other endpoints."""

    path = "/api/conversations"
    tags = ["chat"]

    @get(
        "/{conversation_id:uuid}/events",
        operation_id="streamConversationEvents",
        summary="Stream agent replies and state changes of the visitor's conversation",
        media_type="text/event-stream",
        response_description="text/event-stream: agent_message, state (the last one closed); id = event version",
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        conversation_id: UUID,
        chat: ChatService,
        widget_workspace: Workspace,
        widget_guard: WidgetGuard,
        conversation_signals: ConversationSignals,
        after: str | None = None,
    ) -> ServerSentEvent:
        """Everything visible after ``after`` (or Last-Event-ID), then live until the conversation closes."""
        await check_widget_visitor(request, widget_guard, widget_workspace.id, conversation_id)
        position = parse_after(request.headers.get("last-event-id"), after)
        await chat.run(timeline.check_in, chat.app, widget_workspace.id, conversation_id)
        names: dict[str, str] = {}

        def name_of(agent_id: str) -> str:
            if agent_id not in names:
                names[agent_id] = agent_display_name(chat.app, agent_id)
            return names[agent_id]

        def read(after: int) -> tuple[list[timeline.VisitorItem], int]:
            events = timeline.events_after(chat.app, conversation_id, after)
            last = events[-1].originator_version if events else after
            return timeline.visitor_items(events, name_of), last

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            nonlocal position
            with conversation_signals.waiter(conversation_id) as wake:
                yield ServerSentEventMessage(data=None, comment="connected", retry=2000)
                opened = quiet_since = time.monotonic()
                while time.monotonic() - opened < MAX_STREAM_S:
                    wake.clear()  # before reading: a change during the read wakes the next wait
                    items, position = await chat.run(read, position)
                    for item in items:
                        yield ServerSentEventMessage(event=item.kind, data=json.dumps(item.data), id=item.version)
                        quiet_since = time.monotonic()
                        if item.final:
                            return
                    if time.monotonic() - quiet_since >= KEEPALIVE_S:
                        yield ServerSentEventMessage(data=None, comment="keepalive")
                        quiet_since = time.monotonic()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=POLL_S)

        return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
