"""A conversation's transcript as a PDF (issue 17 item 4): the Markdown export (export.markdown: summary with the
chain's verification, timeline, model calls and request checks, final state, audit trail) laid out by fpdf2.

A PDF is written whole at its end (its cross-reference table gives every object's offset), so it is bounded, not
streamed: a conversation of more than MAX_EVENTS events is refused (422 ``export_too_large``; its Markdown and
JSON Lines exports are streamed). The text is set in DejaVu Sans where the system has it (every script; Debian's
fonts-dejavu-core), else in the PDF's core Helvetica, which has Latin-1 only (other characters print as "?", and
the first page says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from commands.application import ChatAssistApp
from domain.errors import InvalidInput

MAX_EVENTS = 5_000


def check_size(app: ChatAssistApp, conversation_id: UUID) -> int:
    """The conversation's event count, or 422 ``export_too_large`` past MAX_EVENTS."""
    last = app.recorder.select_events(conversation_id, desc=True, limit=1)
    count = last[0].originator_version if last else 0
    if count > MAX_EVENTS:
        raise InvalidInput(
            f"This conversation has {count} events; a PDF holds at most {MAX_EVENTS}. Export it as md or jsonl "
            "(streamed, any size).",
            code="export_too_large",
        )
    return int(count)


def render(chunks: Iterable[str]) -> bytes:
    """The PDF of a Markdown transcript (export.markdown's chunks, read as they come). Blocks: call it in a worker
    thread, which then also pays fpdf2's import on the first export (pdf_layout.py)."""
    from commands.replay_conversation.pdf_layout import render as lay_out

    return lay_out(chunks)
