"""Which provider serves a model name, and whether Anthropic has announced its end of life."""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

# Anthropic's announced end-of-life dates, as they stood when we wrote this (the SDK's own table, 2.12-2.14).
# Ours, because an SDK release drops a model from its table once the date has passed (2.15 did so for
# claude-sonnet-4-5), and a workspace still configured with a retired model is what most needs the warning.
KNOWN_END_OF_LIFE = {
    "claude-mythos-preview": "June 30th, 2026",
    "claude-opus-4-5": "January 22nd, 2027",
    "claude-opus-4-5-20251101": "January 22nd, 2027",
    "claude-sonnet-4-5": "November 30th, 2026",
    "claude-sonnet-4-5-20250929": "November 30th, 2026",
}

OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")


def provider_for(model: str) -> str | None:
    """'anthropic', 'openai', 'offline' or None for a name we cannot route."""
    if model.startswith("claude-"):
        return "anthropic"
    if model.startswith(OPENAI_PREFIXES):
        return "openai"
    if model == "offline-retrieval":
        return "offline"
    return None


def deprecation_of(model: str) -> str | None:
    """The end-of-life date announced for ``model``, if any: the installed anthropic SDK's table first (it knows
    of newer announcements), else ours (it still knows of models the SDK has since dropped)."""
    date = sdk_table().get(model) or KNOWN_END_OF_LIFE.get(model)
    return str(date) if date else None


# Where releases of the SDK keep the table, newest first (2.17: ``_data``; 2.12-2.16: the messages resource).
SDK_TABLE_FILES = ("_data/deprecated_models.py", "resources/messages/messages.py")


def sdk_root() -> Path | None:
    """The installed anthropic package's folder, found without importing it (None: not installed)."""
    spec = importlib.util.find_spec("anthropic")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def sdk_table() -> dict[str, str]:
    """The installed anthropic SDK's ``DEPRECATED_MODELS``, read from its source as a literal rather than imported:
    importing it would load the whole SDK (~50 MB of types) into a web process that never calls it
    (docs/adr/0071-anthropic-calls-without-the-sdk-on-the-chat-path.md). Empty if it cannot be found or read."""
    root = sdk_root()
    if root is None:
        return {}
    for name in SDK_TABLE_FILES:
        table = _literal_table(root / name)
        if table:
            return table
    return {}


def _literal_table(path: Path) -> dict[str, str]:
    """The dict literal assigned to ``DEPRECATED_MODELS`` at the top level of ``path`` ({} if none)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        if value is not None and any(isinstance(t, ast.Name) and t.id == "DEPRECATED_MODELS" for t in targets):
            try:
                table = ast.literal_eval(value)
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}
    return {}
