"""The provider port: what every AI backend (Anthropic, OpenAI, offline) offers the orchestrator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from domain.conversation import Turn
from domain.knowledge import KnowledgeHit
from domain.pricing import Usage

# Error kinds, recorded on ModelCallMade.error_kind. Stable: dashboards group by them.
OVERLOADED = "overloaded"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
CONNECTION = "connection"
BROKEN_STREAM = "broken_stream"
AUTH = "auth"
BAD_REQUEST = "bad_request"
NOT_CONFIGURED = "not_configured"

RETRYABLE = frozenset({OVERLOADED, RATE_LIMITED, SERVER_ERROR, TIMEOUT, CONNECTION, BROKEN_STREAM})


@dataclass(frozen=True)
class PromptRequest:
    """Everything a provider needs for one call, already assembled (see commands.ai.prompt)."""

    model: str
    system: str
    examples: list[Turn]
    history: list[Turn]
    max_tokens: int
    knowledge: list[KnowledgeHit] = field(default_factory=list)  # retrieved for this turn, best first


@dataclass(frozen=True)
class TextDelta:
    """A chunk of reply text, as it arrives."""

    text: str


@dataclass(frozen=True)
class Completed:
    """The provider's final event arrived: the reply is whole and usage is known."""

    usage: Usage
    model: str
    stop_reason: str | None = None


StreamEvent = TextDelta | Completed


class ProviderError(Exception):
    """A failed call, classified so the orchestrator can decide to retry or fall back."""

    def __init__(
        self, kind: str, message: str, *, retry_after: float | None = None, usage: Usage | None = None
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.usage = usage or Usage()

    @property
    def retryable(self) -> bool:
        """Whether trying the same provider again may succeed."""
        return self.kind in RETRYABLE


class Provider(Protocol):
    """A streaming chat backend. ``stream`` ends with exactly one Completed or raises ProviderError."""

    name: str

    def stream(self, request: PromptRequest) -> AsyncIterator[StreamEvent]:
        """Stream the reply to ``request``."""
        ...
