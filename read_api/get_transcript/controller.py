"""GET /api/conversations/{id}: the transcript, for the widget that owns it or a member allowed to monitor chats."""

from __future__ import annotations

from uuid import UUID

import anyio.to_thread
from litestar import Controller, get
from litestar.exceptions import NotFoundException

from projections.transcripts.projection import TranscriptView
from read_api.get_transcript.query import Transcript, get_transcript


class TranscriptController(Controller):
    """Read a conversation. ``transcript_workspace_id`` is injected by the web layer: the workspace of the
    X-Widget-Key, or of a signed-in member with the chat.monitor permission."""

    path = "/api/conversations"
    tags = ["conversations"]

    @get("/{conversation_id:uuid}", operation_id="getTranscript", summary="Read a conversation's transcript")
    async def get_transcript(
        self, conversation_id: UUID, transcript_workspace_id: UUID, transcripts: TranscriptView
    ) -> Transcript:
        """Messages in order; 404 if the conversation is unknown or belongs to another workspace."""
        transcript = await anyio.to_thread.run_sync(
            get_transcript, transcripts, transcript_workspace_id, conversation_id
        )
        if transcript is None:
            raise NotFoundException(
                f"No conversation with id {conversation_id}.", extra={"code": "conversation_not_found"}
            )
        return transcript
