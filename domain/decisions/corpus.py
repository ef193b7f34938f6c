"""The labelled decision corpus (``domain/data/decisions/*.txt``, described in its README) and its split.

A conversation's split is fixed by a hash of its text: 60 % train, 20 % dev, 20 % test. Nothing that tunes the
decision (the classifier's training, thresholds chosen on dev) reads the test split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl")
RULES = ("p1", "p2", "person", "none")
TOPIC_CODES = {
    "legal": "Legal & Compliance",
    "refunds": "Refunds & Cancellation",
    "auth": "Passwords & Auth",
    "billing": "Billing",
    "api": "API & Integrations",
    "onboarding": "Onboarding",
    "other": "Other",
}
SPLITS = ("train", "dev", "test")
BLIND = "blind"  # domain/data/decisions/blind/: written apart from the corpus, never trained or tuned on
BLIND2 = "blind2"  # domain/data/decisions/blind2/: a second blind set, by another writer, for the next round
BLIND3 = "blind3"  # domain/data/decisions/blind3/: a third, by a third writer, committed before it was measured
BLIND4 = "blind4"  # domain/data/decisions/blind4/: a fourth, by a fourth writer, committed before it was measured
BLIND_SETS = (BLIND, BLIND2, BLIND3, BLIND4)
BLIND_LANGUAGES = ("en", "es", "fr", "de", "pt")


@dataclass(frozen=True)
class Example:
    """One labelled conversation: the visitor's messages oldest first, the rule, the amount asked back (P2 and
    refund demands under the threshold) and its currency, the topic, the language and the split."""

    messages: tuple[str, ...]
    rule: str
    amount: Decimal | None
    currency: str | None
    topic: str
    language: str
    split: str
    line: int


def split_of(messages: tuple[str, ...]) -> str:
    """train, dev or test, from a hash of the conversation (stable across runs and machines)."""
    bucket = hashlib.sha256(" || ".join(messages).encode()).digest()[0] % 10
    return "train" if bucket < 6 else "dev" if bucket < 8 else "test"


def parse(line: str, language: str, number: int, split: str | None = None) -> Example:
    """One corpus line: ``rule | amount | currency | topic | message || message``."""
    rule, amount, currency, topic, text = (part.strip() for part in line.split(" | ", 4))
    if rule not in RULES or topic not in TOPIC_CODES:
        raise ValueError(f"{language}.txt line {number}: unknown rule {rule!r} or topic {topic!r}")
    messages = tuple(m.strip() for m in text.split(" || ") if m.strip())
    if not messages:
        raise ValueError(f"{language}.txt line {number}: no message")
    return Example(
        messages,
        rule,
        None if amount == "-" else Decimal(amount),
        None if currency == "-" else currency,
        TOPIC_CODES[topic],
        language,
        split or split_of(messages),
        number,
    )


@lru_cache(maxsize=1)
def load() -> tuple[Example, ...]:
    """Every labelled conversation, in file order."""
    folder = resources.files("domain") / "data" / "decisions"
    out: list[Example] = []
    for language in LANGUAGES:
        lines = (folder / f"{language}.txt").read_text(encoding="utf-8").splitlines()
        out += [parse(line, language, n) for n, line in enumerate(lines, 1) if line.strip()]
    return tuple(out)


@lru_cache(maxsize=len(BLIND_SETS))
def load_blind(name: str = BLIND) -> tuple[Example, ...]:
    """A blind set (``domain/data/decisions/<name>/``, same format, ``blind`` to ``blind4``): conversations
    written apart from the corpus to measure generalisation; nothing trains or tunes on them, and ``all`` includes
    none."""
    if name not in BLIND_SETS:
        raise ValueError(f"unknown blind set {name!r}: one of {', '.join(BLIND_SETS)}")
    folder = resources.files("domain") / "data" / "decisions" / name
    out: list[Example] = []
    for language in BLIND_LANGUAGES:
        lines = (folder / f"{language}.txt").read_text(encoding="utf-8").splitlines()
        out += [parse(line, language, n, name) for n, line in enumerate(lines, 1) if line.strip()]
    return tuple(out)


def split(name: str) -> list[Example]:
    """The examples of one split (train, dev, test), ``all`` (the three) or a blind set (``blind`` to
    ``blind4``)."""
    if name in BLIND_SETS:
        return list(load_blind(name))
    return [e for e in load() if name in ("all", e.split)]
