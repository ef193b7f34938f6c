"""The visitor token: what lets a widget read and act on one conversation when identity verification is off.

The public widget key only names a workspace (anyone can read it from the page), so it opens no conversation. A
token is issued when a conversation starts and given to the widget once; a new one replaces it when the visitor's
identity changes. Only its SHA-256 is stored (in the conversation's events); the token itself is never stored or
logged. See docs/widget-security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from domain.errors import Forbidden, Unauthorized

PREFIX = "vt_"
MAX_TOKEN_CHARS = 200


def new_visitor_token() -> str:
    """A fresh random token (256 bits)."""
    return PREFIX + secrets.token_urlsafe(32)


def visitor_token_hash(token: str) -> str:
    """Hex SHA-256 of the token: what the events keep (the token has 256 random bits, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_visitor_token(stored_sha256: str | None, token: str | None) -> None:
    """Unauthorized ``visitor_token_required`` without a token; Forbidden ``invalid_visitor_token`` when it is not
    this conversation's current one (another conversation's, a replaced one, or a conversation without a token)."""
    given = (token or "").strip()
    if not given:
        raise Unauthorized(
            "The widget key alone does not open a conversation: send the visitor token that POST /api/chat "
            "returned when the conversation started, in the X-Visitor-Token header.",
            code="visitor_token_required",
        )
    expected = stored_sha256 or ""
    actual = visitor_token_hash(given[:MAX_TOKEN_CHARS])
    if not expected or not hmac.compare_digest(expected.encode(), actual.encode()):
        raise Forbidden(
            "This visitor token does not open this conversation (it belongs to another conversation, was replaced "
            "when the visitor's identity changed, or the conversation predates visitor tokens): start a new "
            "conversation by sending no conversation_id.",
            code="invalid_visitor_token",
        )
