"""What a widget keeps: each conversation's visitor token, as POST /api/chat gave it (issue 23.3).

The test helpers that post chats remember the tokens here, as the widget keeps them in its storage; a test reading
or acting on a conversation as its widget sends ``widget_headers(key, conversation_id)``.
"""

from __future__ import annotations

from typing import Any

TOKENS: dict[str, str] = {}


def remember(conversation_id: object, token: object) -> None:
    """Keep a conversation's (new) visitor token."""
    if isinstance(token, str) and token:
        TOKENS[str(conversation_id)] = token


def remember_events(events: list[tuple[str, Any]]) -> None:
    """Keep the token of a chat stream's ``start`` event, when it carries one."""
    for name, data in events:
        if name == "start" and isinstance(data, dict):
            remember(data.get("conversation_id"), data.get("visitor_token"))


def remember_reply(body: Any) -> None:
    """Keep the token of a JSON chat reply (or of an error after the conversation was stored)."""
    if isinstance(body, dict) and body.get("conversation_id"):
        remember(body["conversation_id"], body.get("visitor_token"))


def token_of(conversation_id: object) -> str:
    """The token the widget holds for this conversation (KeyError: the test never started it through a helper)."""
    return TOKENS[str(conversation_id)]


def widget_headers(widget_key: str, conversation_id: object, **extra: str) -> dict[str, str]:
    """Headers of a widget request about one of its conversations: the key and that conversation's token."""
    return {"X-Widget-Key": widget_key, "X-Visitor-Token": token_of(conversation_id), **extra}
