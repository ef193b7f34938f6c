"""Which provider serves a model name, and whether the Anthropic SDK marks it deprecated."""

from __future__ import annotations

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
    """The end-of-life date the installed anthropic SDK announces for ``model``, if any."""
    try:
        from anthropic.resources.messages.messages import DEPRECATED_MODELS
    except ImportError:  # the SDK moved its table; we then cannot tell
        return None
    date = DEPRECATED_MODELS.get(model)
    return str(date) if date else None
