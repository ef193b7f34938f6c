"""Password strength, judged by an estimator of how many guesses a password takes (zxcvbn: dictionaries of common
passwords, names and words, keyboard patterns, sequences, repeats, dates and years, l33t), not by character classes:
"abcdefghijk1" and "ChatAssist2026" are refused, a long passphrase of plain words is accepted."""

from __future__ import annotations

from domain.account import check_password_length
from domain.errors import InvalidInput

MIN_SCORE = 3  # zxcvbn's 0-4 scale: 3 is "safely unguessable" (~10^8-10^10 guesses) behind our argon2 hash
ESTIMATOR_MAX_CHARS = 72  # what zxcvbn reads; a longer password is at least as strong as its first 72 characters
PRODUCT_WORDS = ("chatassist", "chat", "assist", "support")


def check_password_strength(password: object, *context: str) -> str:
    """The password, or InvalidInput ``weak_password`` with the estimator's advice. ``context``: words a guesser
    would try first (the person's email and name, the workspace's name)."""
    from zxcvbn import zxcvbn  # its word lists load here, at the first password checked (ADR 0062), not at start

    value = check_password_length(password)
    hints = [*PRODUCT_WORDS, *(w for text in context for w in _words(text))]
    result = zxcvbn(value[:ESTIMATOR_MAX_CHARS], user_inputs=hints)
    if int(result["score"]) < MIN_SCORE:
        feedback = result.get("feedback") or {}
        advice = " ".join(
            s.rstrip(".") + "." for s in [feedback.get("warning") or "", *feedback.get("suggestions", [])] if s
        )
        raise InvalidInput(
            "The password is too easy to guess"
            + (f": {advice}" if advice else ".")
            + " A few unrelated words make a strong one.",
            code="weak_password",
        )
    return value


def _words(text: str) -> list[str]:
    """The parts of an email or a name a guesser would try."""
    parts = text.lower().replace("@", " ").replace(".", " ").replace("-", " ").replace("_", " ").split()
    return [p for p in parts if len(p) >= 3]
