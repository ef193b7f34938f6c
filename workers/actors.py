"""Dramatiq actors. Each takes ids, and is safe to run twice."""

from __future__ import annotations

from uuid import UUID

import dramatiq

from commands.close_conversation import cmd as close_cmd
from domain.errors import NotFound
from workers.runtime import get_app


@dramatiq.actor(queue_name="chatassist", max_retries=10, min_backoff=1000)
def close_idle_conversation(conversation_id: str) -> None:
    """Close a conversation left idle; closing an already closed one records nothing, and one that waits for or is
    with a person is left open (an agent may have claimed it since the scheduler looked)."""
    command = close_cmd.CloseConversation(UUID(conversation_id), "idle_timeout", unless_human=True)
    try:
        close_cmd.execute(get_app(), command)
    except NotFound:
        return
