"""Which provider serves a model name, and whether Anthropic has announced its end of life."""

from __future__ import annotations

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
    try:
        from anthropic.resources.messages.messages import DEPRECATED_MODELS  # type: ignore[attr-defined]  # used there, not re-exported
    except ImportError:  # the SDK moved its table; ours still answers
        DEPRECATED_MODELS = {}
    date = DEPRECATED_MODELS.get(model) or KNOWN_END_OF_LIFE.get(model)
    return str(date) if date else None
