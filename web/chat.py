"""POST /api/chat and the visitor's conversation actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from litestar import Controller, MediaType, Request, Response, post

from commands._widget_security import WidgetGuard
from commands.ai.base import TextDelta
from commands.ai.orchestrator import Restart
from commands.chat_turn.detach import pumped
from commands.chat_turn.service import ChatService, TurnDone, TurnError, TurnHandled, TurnStarted
from commands.close_conversation import cmd as close_cmd
from commands.rate_conversation import cmd as rate_cmd
from commands.receive_message.cmd import EndUser, VisitorAccess
from commands.resolve_conversation import cmd as resolve_cmd
from domain.errors import InvalidInput
from domain.workspace import Workspace
from web.conversation_commands import change_conversation
from web.deps import VISITOR_TOKEN_HEADER, check_widget_visitor, widget_policy
from web.errors import error_body
from web.live import ConversationSignals
from web.ratelimit import RateLimits
from web.schemas import Ack, ChatReply, ChatRequest, ChatUsage, CsatRequest
from web.sse import event_stream, frame

TurnEvent = TurnStarted | TextDelta | Restart | TurnDone | TurnHandled | TurnError
ERROR_STATUS = {"budget_exhausted": 429, "providers_unavailable": 503}
INTERRUPTED = {
    "code": "answer_interrupted",
    "message": "The answer could not be completed because of a problem on our side. Your message may not have been "
    "answered: please send it again in a moment.",
}  # the turn failed after its stream began (e.g. the database went away): its outcome may not be stored


def parse_conversation_id(raw: str | None) -> UUID | None:
    """A UUID, or None for a new conversation; anything else is a 422."""
    if raw is None:
        return None
    try:
        return UUID(raw)
    except (ValueError, AttributeError):
        raise InvalidInput(
            "conversation_id must be a UUID returned by an earlier reply, or null.",
            code="invalid_conversation_id",
        ) from None


def sse(event: TurnEvent) -> bytes:
    """One SSE message per turn event (framed and JSON-encoded by web/sse.py)."""
    if isinstance(event, TextDelta):
        return frame("delta", {"text": event.text})
    if isinstance(event, TurnStarted):
        body: dict[str, Any] = {"conversation_id": str(event.conversation_id), "message_id": event.message_id}
        if event.visitor_token is not None:  # only when issued: a new conversation, or a new identity
            body["visitor_token"] = event.visitor_token
        return frame("start", body)
    if isinstance(event, Restart):
        return frame("restart", {"reason": event.reason, "provider": event.provider, "model": event.model})
    if isinstance(event, TurnDone):
        return frame("done", {**event.__dict__, "handled_by": "ai"})
    if isinstance(event, TurnHandled):
        return frame("done", handled_body(event))
    error: dict[str, Any] = {"code": event.code, "message": event.message}
    if event.escalation is not None:  # no AI answer: the conversation waits for a person (docs/api.md)
        error["escalation"] = event.escalation
    return frame("error", error)


def handled_body(event: TurnHandled) -> dict[str, Any]:
    """``done`` of a turn a person handles: no reply (``message_id`` null), who handles it and the state."""
    return {
        "conversation_id": str(event.conversation_id),
        "message_id": None,
        "reply_to": event.reply_to,
        "handled_by": event.handled_by,
        "state": event.state,
        "escalation": event.escalation,
    }


def wants_json(request: Request[Any, Any, Any]) -> bool:
    """True when the client asked for one JSON document rather than a stream."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


async def collect(events: AsyncIterator[TurnEvent]) -> Response[Any]:
    """Run the turn to its end and answer with one JSON document."""
    started: TurnStarted | None = None
    parts: list[str] = []
    restarts = 0
    async for event in events:
        if isinstance(event, TurnStarted):
            started = event
        elif isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, Restart):
            parts, restarts = [], restarts + 1
        elif isinstance(event, TurnDone) and started is not None:
            return Response(
                ChatReply(
                    str(started.conversation_id),
                    event.message_id,
                    event.reply_to,
                    "".join(parts),
                    ChatUsage(**event.usage),
                    event.cost_usd,
                    event.confidence,
                    event.topic,
                    event.provider,
                    event.model,
                    event.prompt_version,
                    event.attempts,
                    event.offline,
                    restarts,
                    event.escalation,
                    citations=event.citations,
                    visitor_token=started.visitor_token,
                ),
                media_type=MediaType.JSON,
            )
        elif isinstance(event, TurnHandled):
            body = {**handled_body(event), "reply": ""}
            if started is not None and started.visitor_token is not None:
                body["visitor_token"] = started.visitor_token
            return Response(body, media_type=MediaType.JSON)
        elif isinstance(event, TurnError) and started is not None:
            token = {"visitor_token": started.visitor_token} if started.visitor_token is not None else {}
            body = error_body(
                event.code,
                event.message,
                conversation_id=str(started.conversation_id),
                message_id=started.message_id,
                **token,
            )
            return Response(body, status_code=ERROR_STATUS.get(event.code, 503), media_type=MediaType.JSON)
    raise RuntimeError("chat turn ended without an outcome")


async def counted(
    events: AsyncIterator[TurnEvent], rate_limits: RateLimits, workspace_id: object, ip: str, anonymous: bool
) -> AsyncIterator[TurnEvent]:
    """The turn's events, its tokens counted against the IP's and the anonymous visitors' spend as it ends (run to
    the end by ``detached`` even when the visitor goes away)."""
    async for event in events:
        if isinstance(event, TurnDone):
            tokens = int(event.usage.get("input_tokens", 0)) + int(event.usage.get("output_tokens", 0))
            await rate_limits.spent(workspace_id, ip, tokens, anonymous=anonymous)
        yield event


class ChatController(Controller):
    """The widget's write API, authenticated by the public widget key."""

    path = "/api"
    tags = ["chat"]

    @post(
        "/chat",
        operation_id="chat",
        summary="Send a visitor message and stream the answer",
        status_code=200,
        media_type="text/event-stream",
        response_description="text/event-stream: start, delta*, restart*, done | error",
    )
    async def chat(
        self,
        request: Request[Any, Any, Any],
        data: ChatRequest,
        chat: ChatService,
        widget_workspace: Workspace,
        rate_limits: RateLimits,
        widget_guard: WidgetGuard,
    ) -> Any:
        """Store the message, then stream the reply; with Accept: application/json, answer as one document."""
        widget_guard.check_identity(widget_workspace.id, widget_policy(request), data.user.id, data.user.signature)
        conversation_id = parse_conversation_id(data.conversation_id)
        user = EndUser(data.user.id, data.user.email, data.user.name)
        ip = request.client.host if request.client else "unknown"
        # With identity verification off, the visitor id is whatever the caller says: count the spend as anonymous.
        anonymous = not widget_policy(request).require_identity_verification
        await rate_limits.chat(widget_workspace.id, user.id, ip, new_conversation=conversation_id is None)
        await rate_limits.check_spend(
            widget_workspace.id, ip, anonymous=anonymous, monthly_budget=widget_workspace.settings.monthly_token_budget
        )
        # an existing conversation is the widget's own by its visitor token, or by the verified identity just checked
        access = VisitorAccess(
            request.headers.get(VISITOR_TOKEN_HEADER), widget_policy(request).require_identity_verification
        )
        begun = await chat.begin(widget_workspace, conversation_id, user, data.message, access)
        # the turn runs from here (search, rules, model call) while the message's save commits; the response
        # starts only once it is saved, so a failed save is still this request's status, and it stops the turn
        events = pumped(counted(chat.answer(begun), rate_limits, widget_workspace.id, ip, anonymous))
        try:
            await begun.stored()
        except BaseException:
            events.cancel()
            raise
        if wants_json(request):
            return await collect(events)

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for event in events:
                    yield sse(event)
            except Exception:  # logged by ``detached``; the headers are sent, so the stream says it, not a status
                yield frame("error", INTERRUPTED)

        return event_stream(stream())

    @post(
        "/conversations/{conversation_id:uuid}/csat",
        operation_id="rateConversation",
        status_code=200,
        summary="Rate the conversation from 1 to 5",
    )
    async def rate(
        self,
        request: Request[Any, Any, Any],
        conversation_id: UUID,
        data: CsatRequest,
        chat: ChatService,
        widget_workspace: Workspace,
        widget_guard: WidgetGuard,
    ) -> Ack:
        """Record the visitor's CSAT score."""
        await check_widget_visitor(request, widget_guard, widget_workspace.id, conversation_id)
        command = rate_cmd.RateConversation(widget_workspace.id, conversation_id, data.score, data.comment)
        await change_conversation(chat.app, rate_cmd.execute, command, conversation_id)
        return Ack()

    @post(
        "/conversations/{conversation_id:uuid}/resolve",
        operation_id="resolveConversation",
        status_code=200,
        summary="The visitor's problem is solved",
    )
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        conversation_id: UUID,
        chat: ChatService,
        widget_workspace: Workspace,
        widget_guard: WidgetGuard,
        conversation_signals: ConversationSignals,
    ) -> Ack:
        """Mark the conversation resolved by the visitor."""
        await check_widget_visitor(request, widget_guard, widget_workspace.id, conversation_id)
        command = resolve_cmd.ResolveConversation(widget_workspace.id, conversation_id, "visitor")
        await change_conversation(chat.app, resolve_cmd.execute, command, conversation_id, conversation_signals)
        return Ack()

    @post(
        "/conversations/{conversation_id:uuid}/close",
        operation_id="closeConversation",
        status_code=200,
        summary="End the conversation",
    )
    async def close(
        self,
        request: Request[Any, Any, Any],
        conversation_id: UUID,
        chat: ChatService,
        widget_workspace: Workspace,
        widget_guard: WidgetGuard,
        conversation_signals: ConversationSignals,
    ) -> Ack:
        """Close the conversation; it takes no more messages."""
        await check_widget_visitor(request, widget_guard, widget_workspace.id, conversation_id)
        command = close_cmd.CloseConversation(conversation_id, "visitor_closed", widget_workspace.id)
        await change_conversation(chat.app, close_cmd.execute, command, conversation_id, conversation_signals)
        return Ack()
