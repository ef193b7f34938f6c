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
    store, or None. Paths read ``user.id``, ``items[2].text``; a key's path ends with the key itself. Walked without
    recursion, so a body nested as deep as the JSON decoder allows is walked too."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            char = unstorable(item)
            if char is not None:
                return at, char
        elif isinstance(item, dict):
            children = []
            for key, sub in item.items():
                where = f"{at}.{key}" if at else str(key)
                children.append((key, where))  # the key before its value
                children.append((sub, where))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(sub, f"{at}[{i}]") for i, sub in enumerate(item)]))
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
