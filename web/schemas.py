"""Request and response bodies (msgspec Structs) of the widget API."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(max_length=320)]
Signature = Annotated[str, msgspec.Meta(max_length=128)]


class ChatUser(msgspec.Struct, forbid_unknown_fields=True):
    """The visitor as the embedding site identifies them; ``signature`` is hex HMAC-SHA256(identity secret, id),
    required when the workspace turned identity verification on."""

    id: UserId
    email: Short | None = None
    name: Short | None = None
    signature: Signature | None = None


class ChatRequest(msgspec.Struct, forbid_unknown_fields=True):
    """One visitor message. ``conversation_id`` null starts a new conversation. Limit: 4,000 characters."""

    message: str
    user: ChatUser
    conversation_id: str | None = None


class ChatUsage(msgspec.Struct):
    """Tokens over every model attempt of the turn."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class ChatReply(msgspec.Struct):
    """The whole turn as one JSON document (``Accept: application/json``)."""

    conversation_id: str
    message_id: str
    reply_to: str
    reply: str
    usage: ChatUsage
    cost_usd: str | None
    confidence: float
    topic: str
    provider: str
    model: str
    prompt_version: int
    attempts: int
    offline: bool
    restarts: int = 0
    escalation: dict[str, Any] | None = None
    handled_by: str = "ai"
    citations: list[dict[str, Any]] = msgspec.field(default_factory=list)  # article_id, version, title, url
    # issued by this turn (a new conversation, or the visitor's new identity): send it as X-Visitor-Token to read
    # or act on the conversation; null when the token the widget holds stays valid
    visitor_token: str | None = None


class CsatRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A satisfaction rating from 1 (bad) to 5 (great)."""

    score: int
    comment: str | None = None


class Ack(msgspec.Struct):
    """A command was recorded."""

    ok: bool = True
