"""Every request's texts checked once, before any handler sees them: a character a view cannot store (U+0000 NUL,
a lone surrogate: domain/text.py) is refused with a 422 ``invalid_characters`` naming the field, and nothing is
written. The app's request class does it as it decodes a JSON body, so every endpoint that takes one is covered
without a line of its own; the query string is checked the same way (``check_query``, a before-request hook).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from litestar import Request

from domain.errors import InvalidInput
from domain.text import describe, find_unstorable, unstorable

CODE = "invalid_characters"


def refuse(field: str, char: str) -> InvalidInput:
    """The error of a text whose ``field`` holds ``char``."""
    field = unstorable_free(field)[:100]
    subject = f"The field `{field}`" if field else "The request body"
    return InvalidInput(
        f"{subject} contains the character {describe(char)}, which cannot be stored: remove it and send again.",
        code=CODE,
    )


def check_value(value: Any) -> Any:
    """``value`` (a decoded JSON body) when every key and string in it can be stored, else InvalidInput."""
    found = find_unstorable(value)
    if found is not None:
        raise refuse(*found)
    return value


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request whose JSON body is refused when a text in it cannot be stored."""

    async def json(self) -> Any:
        """The decoded body, checked on every call (a middleware may have decoded it first, unchecked)."""
        return check_value(await super().json())


def unstorable_free(text: str) -> str:
    """``text`` with the characters that cannot be stored left out (a field name to quote in an error)."""
    return "".join(c for c in text if unstorable(c) is None)


async def check_query(request: Request[Any, Any, Any]) -> None:
    """Refuse a query string or path whose decoded text holds a character that cannot be stored."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    for part in raw.split("&"):
        name, _, value = part.partition("=")
        for text in (name, value):
            char = unstorable(unquote(text.replace("+", " ")))  # invalid UTF-8 decodes to U+FFFD, as Litestar's
            if char is not None:
                raise refuse(unstorable_free(unquote(name)) or "query", char)
    char = unstorable(request.scope.get("path", ""))
    if char is not None:
        raise refuse("path", char)
