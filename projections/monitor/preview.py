"""What the monitor projection and its fold share: how a message is previewed, which replies are holding replies."""

from __future__ import annotations

PREVIEW_CHARS = 160
HOLDING_PROVIDER = "escalation"  # the holding reply of an escalation: not an AI answer, its confidence is not one


def preview(text: str) -> str:
    """The last message as the monitor lists it: whitespace folded, at most 160 characters."""
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"
