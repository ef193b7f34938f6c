"""POST /api/audit/erasures: an admin honours a person's erasure request (crypto-shredding, docs/audit.md "Erasure")."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, Router, post

from commands.chat_turn.service import ChatService
from commands.erase_personal_data import cmd as erase
from web.auth import Member
from web.guards import GUARDS


class ErasureRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of ``user_id`` (the id your site gives the widget) or ``email`` (the visitor's e-mail)."""

    user_id: str | None = None
    email: str | None = None


class ErasureAnswer(msgspec.Struct):
    """The erasure: its id (in the audit log), the conversations whose personal data is now unreadable, when."""

    erasure_id: UUID
    conversations: list[UUID]
    erased_at: datetime


class ErasureController(Controller):
    """Erasure requests of the caller's workspace."""

    path = "/"

    @post(
        "/",
        operation_id="erasePersonalData",
        status_code=201,
        summary="Erase a person's personal data (destroys their conversations' keys)",
    )
    async def create(self, data: ErasureRequest, chat: ChatService, current_member: Member) -> ErasureAnswer:
        """201; 404 end_user_not_found; 409 already_erased; 422 invalid_erasure_request; 403 for non-admins."""
        command = erase.ErasePersonalData(
            current_member.workspace_id, current_member.account_id, user_id=data.user_id, email=data.email
        )
        done = await anyio.to_thread.run_sync(erase.execute, chat.app, command)
        return ErasureAnswer(done.erasure_id, done.conversations, done.erased_at)


def audit_erasure_router() -> Router:
    """/api/audit/erasures, guarded by the audit.erase permission (admins)."""
    return Router(path="/api/audit/erasures", route_handlers=[ErasureController], guards=[GUARDS["audit.erase"]])
