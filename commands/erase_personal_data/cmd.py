"""ErasePersonalData: honour an erasure request by destroying the data keys of a person's conversations
(crypto-shredding, ADR 0044), and record it with a ``Conversation.PersonalDataErased`` event on each of them.

The keys are destroyed in a transaction that commits only after the events are saved: a failed save destroys
nothing, and a second request for the same person finds nothing left (409). Events, their counts, costs, tokens,
decisions and hash chain are untouched: only the keys go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg

from commands.application import ChatAssistApp
from commands.personal_data.keys import ERASED_CHANNEL, KEYS, NOTIFY_IDS, SUBJECTS, PersonalKeys, subject_hash
from domain.conversation import Conversation
from domain.errors import Conflict, InvalidInput, NotFound

MAX_IDENTITY_CHARS = 320
REQUEST, RETENTION = "request", "retention"


@dataclass(frozen=True)
class ErasePersonalData:
    """Exactly one of ``user_id`` (the id the customer's site gives the widget) or ``email``; ``by``: the admin."""

    workspace_id: UUID
    by: UUID
    user_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Erasure:
    """What an erasure did."""

    erasure_id: UUID
    conversations: list[UUID]
    erased_at: datetime


def keys_of(app: ChatAssistApp) -> PersonalKeys:
    """The store's personal data keys (registered by the composition root)."""
    keys: PersonalKeys | None = getattr(app.mapper, "keys", None)
    if keys is None:
        raise RuntimeError("the event store has no personal data keys (chatassist.bootstrap registers them)")
    keys.ensure_tables()
    return keys


def subject_of(cmd: ErasePersonalData) -> tuple[str, str]:
    """The identity field and value named, or InvalidInput ``invalid_erasure_request``."""
    given = [(f, v) for f, v in (("user_id", cmd.user_id), ("email", cmd.email)) if v is not None]
    if len(given) != 1 or not isinstance(given[0][1], str) or not given[0][1].strip():
        raise InvalidInput(
            "Name the person with exactly one of user_id (the id your site gives the widget) or email, "
            "as a non-empty string.",
            code="invalid_erasure_request",
        )
    field, value = given[0]
    if len(value) > MAX_IDENTITY_CHARS:
        raise InvalidInput(
            f"{field} is {len(value)} characters long; the limit is {MAX_IDENTITY_CHARS}.",
            code="invalid_erasure_request",
        )
    return field, value


def execute(app: ChatAssistApp, cmd: ErasePersonalData) -> Erasure:
    """Erase every conversation of the person in the workspace; NotFound ``end_user_not_found`` when none is known,
    Conflict ``already_erased`` when all of them were erased before."""
    field, value = subject_of(cmd)
    rows = keys_of(app).read(
        f"SELECT s.conversation_id, k.erased_at FROM {SUBJECTS} s JOIN {KEYS} k USING (conversation_id)"
        " WHERE s.workspace_id = %s AND s.subject = %s",
        (cmd.workspace_id, subject_hash(cmd.workspace_id, field, value)),
    )
    if not rows:
        raise NotFound(
            f"No conversation of this workspace names a visitor with this {field}. Conversations started before "
            "personal data was encrypted are not indexed and cannot be erased without rewriting history "
            "(docs/audit.md, Erasure).",
            code="end_user_not_found",
        )
    live = [r[0] for r in rows if r[1] is None]
    if not live:
        raise Conflict(
            f"Every conversation of this {field} was already erased ({len(rows)}); there is nothing left to erase.",
            code="already_erased",
        )
    return erase_conversations(app, live, by=cmd.by, reason=REQUEST)


def erase_conversations(app: ChatAssistApp, conversation_ids: list[UUID], *, by: UUID | None, reason: str) -> Erasure:
    """Destroy the keys of ``conversation_ids`` not yet erased and record it on each (Conflict ``already_erased``
    when none is left: another erasure took them first)."""
    keys = keys_of(app)
    erasure_id = uuid4()
    with psycopg.connect(keys.database_url) as conn, conn.transaction():
        taken = [
            r[0]
            for r in conn.execute(
                f"UPDATE {KEYS} SET wrapped_key = NULL, erased_at = now(), erasure_id = %s, erased_reason = %s"
                " WHERE conversation_id = ANY(%s) AND erased_at IS NULL RETURNING conversation_id",
                (erasure_id, reason, conversation_ids),
            ).fetchall()
        ]
        if not taken:
            raise Conflict("These conversations were already erased.", code="already_erased")
        for i in range(0, len(taken), NOTIFY_IDS):  # heard by every process's key cache at the commit (ADR 0052)
            conn.execute("SELECT pg_notify(%s, %s)", (ERASED_CHANNEL, ",".join(map(str, taken[i : i + NOTIFY_IDS]))))
        conversations = loaded(app, taken)
        for conversation in conversations:
            conversation.erase_personal_data(str(erasure_id), str(by) if by else None, reason)
        app.save(*conversations)  # the keys' destruction commits only after this
    keys.forget(taken)
    return Erasure(erasure_id, sorted(taken), datetime.now(UTC))


def expired_conversations(app: ChatAssistApp, workspace_id: UUID, days: int, limit: int = 500) -> list[UUID]:
    """The workspace's conversations not yet erased whose last event is more than ``days`` days old (their key is
    at least that old too, so only those keys are read; the aggregate says when it last changed)."""
    candidates = [
        r[0]
        for r in keys_of(app).read(
            f"SELECT conversation_id FROM {KEYS} WHERE workspace_id = %s AND erased_at IS NULL"
            " AND created_at < now() - make_interval(days => %s) ORDER BY created_at LIMIT %s",
            (workspace_id, days, limit),
        )
    ]
    cutoff = datetime.now(UTC) - timedelta(days=days)
    return [c.id for c in loaded(app, candidates) if c.modified_on < cutoff]


def loaded(app: ChatAssistApp, conversation_ids: list[UUID]) -> list[Conversation]:
    """The conversations of ``conversation_ids`` from the store (a key names only conversations)."""
    found: list[Any] = [app.repository.get(c) for c in conversation_ids]
    for conversation in found:
        if not isinstance(conversation, Conversation):
            raise TypeError(f"{conversation.id} is not a conversation")
    return found


def workspaces_with_keys(app: ChatAssistApp) -> list[UUID]:
    """The workspaces that have conversations not yet erased."""
    return [r[0] for r in keys_of(app).read(f"SELECT DISTINCT workspace_id FROM {KEYS} WHERE erased_at IS NULL")]
