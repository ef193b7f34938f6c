"""Which characters a text may hold to be stored in a view: PostgreSQL ``text`` and ``jsonb`` cannot hold U+0000
(NUL), and psycopg cannot encode a lone UTF-16 surrogate (U+D800 to U+DFFF) to UTF-8.

The web refuses such a text at the boundary (web/request.py); the views store a text that got into an event anyway
(an older release accepted it) with each such character replaced (``storable``), so no event stops a view.
"""

from __future__ import annotations

import re
from typing import Any

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"  # what ``storable`` puts in the place of each such character


def unstorable(text: str) -> str | None:
    """The first character of ``text`` that a view cannot store, or None."""
    found = UNSTORABLE.search(text)
    return None if found is None else found.group()


def describe(char: str) -> str:
    """A character as a person reads it in an error: ``U+0000 (NUL)``."""
    return f"U+{ord(char):04X}" + (" (NUL)" if char == "\x00" else " (a lone surrogate)")


def find_unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first (field path, character) of a decoded JSON value whose text (a key or a string) a view cannot
    store, or None. Paths read ``user.id``, ``items[2].text``; a key's path ends with the key itself."""
    if isinstance(value, str):
        char = unstorable(value)
        return None if char is None else (path, char)
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and (char := unstorable(key)) is not None:
                return sub, char
            if (found := find_unstorable(item, sub)) is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if (found := find_unstorable(item, f"{path}[{i}]")) is not None:
                return found
    return None


def storable(value: Any) -> Any:
    """``value`` with every character a view cannot store replaced by U+FFFD, in strings and in the keys and
    strings of dicts and lists within; any other value as it is (the same object when nothing needs replacing)."""
    if isinstance(value, str):
        return UNSTORABLE.sub(REPLACEMENT, value) if UNSTORABLE.search(value) else value
    if find_unstorable(value) is None:
        return value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, tuple):
        return tuple(storable(v) for v in value)
    return value
