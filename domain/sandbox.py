"""SandboxRun: one run of a prompt draft or version against scripted visitor messages, in its own stream.

Its events are never Conversation events, so the production read models (analytics, usage and budget,
transcripts, audit), which subscribe to Conversation and admin topics only, never count a sandbox run. The
visitor messages and answers live only in the ``personal`` field of events, as in ``Conversation``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

MAX_MESSAGES = 10
MAX_CHARS = 4000


def check_messages(messages: object) -> list[str]:
    """1 to MAX_MESSAGES non-empty visitor messages of at most MAX_CHARS characters, or InvalidInput."""
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise InvalidInput(
            f"messages must hold 1 to {MAX_MESSAGES} visitor messages, oldest first.", code="invalid_messages"
        )
    if any(not isinstance(m, str) or not m.strip() or len(m) > MAX_CHARS for m in messages):
        raise InvalidInput(
            f"Each message must be non-empty text of at most {MAX_CHARS} characters.", code="invalid_messages"
        )
    return [m.strip() for m in messages]


class SandboxRun(Aggregate):
    """``source``: {"draft_id", "based_on_version"} or {"version"}; ``kind``: sandbox or replay."""

    @event("Started")
    def __init__(
        self,
        workspace_id: UUID,
        by: UUID,
        source: dict[str, Any],
        prompt_version: int,
        personal: dict[str, Any],
        kind: str = "sandbox",
    ) -> None:
        self.workspace_id = workspace_id
        self.by = by
        self.source = source
        self.prompt_version = prompt_version
        self.kind = kind
        self.messages: list[str] = list(personal["messages"])
        self.turns: list[dict[str, Any]] = []
        self.finished = False

    @event("TurnAnswered")
    def turn_answered(
        self,
        turn: int,
        outcome: str,
        facts: dict[str, Any],
        calls: list[dict[str, Any]],
        escalation: dict[str, Any] | None,
        personal: dict[str, Any],
    ) -> None:
        """``outcome``: answered, escalated or failed; ``facts``: tokens, cost, confidence, topic, provider, model,
        prompt_version; ``calls``: every model call (attempt) with its measurements."""
        self.turns.append({"turn": turn, "outcome": outcome, **facts, "escalation": escalation, **personal})

    @event("Finished")
    def finish(self, turns: int, outcome: str) -> None:
        """``outcome``: completed or failed (a turn's providers were unavailable)."""
        self.finished = True
