"""GetTranscript: one conversation and its messages, from the transcript view."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from projections.knowledge.view import PREFIX as KNOWLEDGE
from projections.transcripts.projection import CONVERSATIONS, MESSAGES, TranscriptView

CITATIONS = f"{KNOWLEDGE}_citations"  # filled by the knowledge projection (its own lag: a moment after the message)

TranscriptSource = TranscriptView
"""What the web layer is handed to read transcripts (the projection's view)."""


class TranscriptMessage(msgspec.Struct):
    """A message as the visitor or agent sees it: role ``user`` (the visitor), ``assistant`` (the AI), ``agent`` (a
    person of the support team, ``agent_name`` the name shown) or ``system`` (a notice, e.g. the AI was unavailable).
    Internal notes are never part of a transcript."""

    role: str
    text: str | None
    at: datetime
    message_id: str | None = None
    reply_to: str | None = None
    provider: str | None = None
    model: str | None = None
    confidence: float | None = None
    topic: str | None = None
    prompt_version: int | None = None
    error_code: str | None = None
    agent_name: str | None = None
    citations: list[dict[str, Any]] | None = None  # the help articles an AI answer cites: article_id, title, url


class Transcript(msgspec.Struct):
    """A conversation with its messages in order; ``version``: the last event it reflects (open the live stream
    GET /api/conversations/{id}/events with ``?after=version`` to get only what follows)."""

    id: UUID
    status: str
    channel: str
    topic: str | None
    csat: int | None
    turns: int
    started_at: datetime
    last_activity_at: datetime
    messages: list[TranscriptMessage]
    version: int = 0


def get_transcript(view: TranscriptView, workspace_id: UUID, conversation_id: UUID) -> Transcript | None:
    """The transcript, or None if it does not exist in this workspace (or is not projected yet)."""
    rows = view.query(
        f"SELECT id, status, channel, topic, csat, turns, started_at, last_activity_at, version FROM {CONVERSATIONS}"
        " WHERE id = %s AND workspace_id = %s",
        (conversation_id, workspace_id),
    )
    if not rows:
        return None
    messages = view.query(
        f"SELECT m.role, m.text, m.at, m.message_id, m.reply_to, m.provider, m.model, m.confidence, m.topic,"
        f" m.prompt_version, m.error_code, m.agent_name, k.citations FROM {MESSAGES} m LEFT JOIN {CITATIONS} k"
        " ON k.conversation_id = m.conversation_id AND k.message_id = m.message_id"
        " WHERE m.conversation_id = %s ORDER BY m.seq",
        (conversation_id,),
    )
    return Transcript(**rows[0], messages=[TranscriptMessage(**m) for m in messages])
