"""Audit replay under /api/audit/conversations/{id}: members with audit.replay (admins, auditors), their own
workspace only; every answered call is itself recorded in the audit log (docs/audit.md, "Replay")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Controller, Router, get
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Stream

from commands.chat_turn.service import ChatService
from commands.record_audit_access import cmd as record
from commands.replay_conversation import events as replay_events
from commands.replay_conversation import export as replay_export
from commands.replay_conversation import pdf as replay_pdf
from commands.replay_conversation import range_export
from commands.replay_conversation import request as replay_request
from commands.replay_conversation import state as replay_state
from domain.errors import InvalidInput
from read_api.get_audit_log.query import AuditSource
from read_api.get_conversation_trail.query import conversation_trail
from read_api.get_conversations_in_range.query import conversations_in_range, export_range
from web.audit import audit_source
from web.auth import Member
from web.guards import GUARDS

Redact = Annotated[bool, QueryParameter(description="mask personal fields even when allowed to see them")]


def personal(member: Member, redact: bool) -> bool:
    """Whether personal fields are shown: the member holds audit.personal and did not ask to redact."""
    return member.can("audit.personal") and not redact


def version_number(raw: str | None) -> int | None:
    """``at_version`` as a whole number, or 422 invalid_version."""
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput("at_version must be a whole number from 1 (the first event).", code="invalid_version")
    return int(raw)


def accessed(chat: ChatService, member: Member, action: str, conversation_id: UUID, details: dict[str, Any]) -> None:
    """Record the access (blocks): after the read succeeded, before the answer leaves."""
    command = record.RecordAuditAccess(member.workspace_id, member.account_id, action, conversation_id, details)
    record.execute(chat.app, command)


class AuditReplayController(Controller):
    """Events, state at a point, what the AI was told, exports."""

    path = "/{conversation_id:uuid}"
    tags = ["audit"]

    @get("/events", operation_id="replayConversationEvents", summary="A conversation's events, in order")
    async def events(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        after: Annotated[int, QueryParameter(description="next_after of the previous page (0: the start)")] = 0,
        limit: Annotated[int, QueryParameter(description="1 to 500")] = replay_events.DEFAULT_LIMIT,
        redact: Redact = False,
    ) -> replay_events.EventsPage:
        """A page of events; 404 conversation_not_found; 422 invalid_limit, limit_too_large, invalid_cursor."""
        shown = personal(current_member, redact)

        def run() -> replay_events.EventsPage:
            page = replay_events.events_page(
                chat.app, current_member.workspace_id, conversation_id, after, limit, personal=shown
            )
            details = {"after": after, "limit": limit, "events": len(page.items), "personal": shown}
            accessed(chat, current_member, "conversation.replayed", conversation_id, details)
            return page

        return await anyio.to_thread.run_sync(run)

    @get("/state", operation_id="replayConversationState", summary="The conversation as it was at a point")
    async def state(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        at_version: Annotated[str | None, QueryParameter(description="a version from 1")] = None,
        at: Annotated[str | None, QueryParameter(description="an ISO datetime (UTC without an offset)")] = None,
        redact: Redact = False,
    ) -> replay_state.ReplayedState:
        """State at a version or instant (default: now); 404 conversation_not_found; 422 invalid_version,
        version_past_end, invalid_instant, before_conversation_start, ambiguous_point."""
        shown = personal(current_member, redact)
        version = version_number(at_version)
        instant = replay_state.parse_instant(at) if at is not None else None

        def run() -> replay_state.ReplayedState:
            found = replay_state.state_at(
                chat.app, current_member.workspace_id, conversation_id, at_version=version, at=instant, personal=shown
            )
            details = {"at_version": version, "at": at, "version": found.version, "personal": shown}
            accessed(chat, current_member, "conversation.state_read", conversation_id, details)
            return found

        return await anyio.to_thread.run_sync(run)

    @get(
        "/model-calls/{call_id:str}/request",
        operation_id="rebuildModelCallRequest",
        summary="What the AI was told: a model call's request rebuilt, and checked against its recorded hash",
    )
    async def request(
        self, conversation_id: UUID, call_id: str, chat: ChatService, current_member: Member, redact: Redact = False
    ) -> replay_request.RebuiltRequest:
        """The request body and its verdict (match, mismatch, not_recorded); 404 conversation_not_found,
        model_call_not_found."""
        shown = personal(current_member, redact)

        def run() -> replay_request.RebuiltRequest:
            rebuilt = replay_request.rebuild(
                chat.app, current_member.workspace_id, conversation_id, call_id, personal=shown
            )
            details = {"call_id": rebuilt.call_id, "verdict": rebuilt.verdict, "personal": shown}
            accessed(chat, current_member, "conversation.request_rebuilt", conversation_id, details)
            return rebuilt

        return await anyio.to_thread.run_sync(run)

    @get(
        "/export",
        operation_id="exportConversation",
        summary="The conversation as JSON Lines or Markdown (streamed), or a PDF transcript",
    )
    async def export(
        self,
        conversation_id: UUID,
        chat: ChatService,
        current_member: Member,
        audit_source: AuditSource,
        format_: Annotated[
            str, QueryParameter(name="format", description="jsonl (events), md or pdf (transcript)")
        ] = "jsonl",
        redact: Redact = False,
    ) -> Stream:
        """An attachment, streamed a batch of events at a time (a PDF: made whole, then sent); 404
        conversation_not_found, 422 unknown_format, export_too_large (a PDF of over 5,000 events)."""
        replay_export.check_format(format_)
        shown = personal(current_member, redact)
        workspace_id = current_member.workspace_id

        def start() -> None:
            replay_events.started(chat.app, workspace_id, conversation_id)
            if format_ == "pdf":
                replay_pdf.check_size(chat.app, conversation_id)
            details = {"format": format_, "personal": shown}
            accessed(chat, current_member, "conversation.exported", conversation_id, details)

        await anyio.to_thread.run_sync(start)
        chunks: Iterator[bytes | str] = (
            replay_export.jsonl(chat.app, workspace_id, conversation_id, personal=shown)
            if format_ == "jsonl"
            else replay_export.markdown(
                chat.app,
                workspace_id,
                conversation_id,
                conversation_trail(audit_source, workspace_id, conversation_id),
                personal=shown,
            )
        )
        if format_ == "pdf":  # made whole before the answer starts (a PDF ends with its table of offsets)
            markdown = chunks
            document = await anyio.to_thread.run_sync(lambda: replay_pdf.render(_text(markdown)))
            chunks = iter([document])
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return Stream(
            _streamed(chunks),
            media_type=replay_export.FORMATS[format_],
            headers={"Content-Disposition": f'attachment; filename="conversation-{conversation_id}-{stamp}.{format_}"'},
        )


class AuditRangeExportController(Controller):
    """Every conversation of a date range, exported."""

    path = "/"
    tags = ["audit"]

    @get(
        "/export",
        operation_id="exportConversationsOfRange",
        summary="Every conversation active in [from, to) as JSON Lines or Markdown, streamed",
    )
    async def export_range(
        self,
        chat: ChatService,
        current_member: Member,
        audit_source: AuditSource,
        from_: Annotated[
            str | None, QueryParameter(name="from", description="ISO date or datetime (inclusive)")
        ] = None,
        to: Annotated[str | None, QueryParameter(description="ISO date or datetime (exclusive)")] = None,
        format_: Annotated[
            str, QueryParameter(name="format", description="jsonl (events) or md (transcripts)")
        ] = "jsonl",
        redact: Redact = False,
    ) -> Stream:
        """An attachment streamed a conversation at a time; 422 invalid_date_range, export_range_too_large
        (over 31 days), unknown_format (a range is jsonl or md: a PDF is one conversation's)."""
        replay_export.check_format(format_, replay_export.STREAMED)
        span = export_range(from_, to)
        shown = personal(current_member, redact)
        workspace_id = current_member.workspace_id

        def start() -> None:
            details = {
                "from": span.since.isoformat(),
                "to": span.until.isoformat(),
                "format": format_,
                "personal": shown,
            }
            record.execute(
                chat.app,
                record.RecordAuditAccess(
                    workspace_id, current_member.account_id, "conversations.exported", None, details
                ),
            )

        await anyio.to_thread.run_sync(start)
        pages = conversations_in_range(audit_source, workspace_id, span)
        chunks: Iterator[bytes | str] = (
            range_export.range_jsonl(chat.app, workspace_id, pages, personal=shown)
            if format_ == "jsonl"
            else range_export.range_markdown(
                chat.app,
                workspace_id,
                pages,
                lambda cid: conversation_trail(audit_source, workspace_id, cid),
                (span.since, span.until),
                personal=shown,
            )
        )
        stamp = f"{span.since:%Y%m%dT%H%M%SZ}-{span.until:%Y%m%dT%H%M%SZ}"
        return Stream(
            _streamed(chunks),
            media_type=replay_export.FORMATS[format_],
            headers={"Content-Disposition": f'attachment; filename="conversations-{stamp}.{format_}"'},
        )


def _text(chunks: Iterator[bytes | str]) -> Iterator[str]:
    return (c.decode() if isinstance(c, bytes) else c for c in chunks)


async def _streamed(chunks: Iterator[bytes | str]) -> AsyncIterator[bytes]:
    """Each chunk made in a worker thread (they read the store), sent as it is made."""
    while True:
        chunk = await anyio.to_thread.run_sync(next, chunks, None)
        if chunk is None:
            return
        yield chunk.encode() if isinstance(chunk, str) else chunk


def audit_replay_router() -> Router:
    """/api/audit/conversations/{id}/..., guarded by the audit.replay permission."""
    return Router(
        path="/api/audit/conversations",
        route_handlers=[AuditRangeExportController, AuditReplayController],
        guards=[GUARDS["audit.replay"]],
        dependencies={"audit_source": Provide(audit_source)},
    )
