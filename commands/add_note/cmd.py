"""AddNote: an internal note for the team on a conversation; never shown to the visitor."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from commands._agent import act
from commands.application import ChatAssistApp
from domain.conversation import Conversation


@dataclass(frozen=True)
class AddNote:
    """Any agent of the workspace may add a note, on any conversation, closed ones included."""

    workspace_id: UUID
    conversation_id: UUID
    agent_id: str
    text: str


def handle(cmd: AddNote, conversation: Conversation, note_id: str) -> None:
    """Decide: a non-empty note of at most 4,000 characters."""
    conversation.add_note(cmd.agent_id, note_id, cmd.text)


def execute(app: ChatAssistApp, cmd: AddNote) -> tuple[Conversation, str]:
    """Record NoteAdded; returns the conversation as saved and the note id."""
    note_id = str(uuid4())
    return act(app, cmd.workspace_id, cmd.conversation_id, lambda c: handle(cmd, c, note_id)), note_id
