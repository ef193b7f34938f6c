"""A small multinomial naive Bayes classifier over character n-grams, trained from the corpus's train split.

Why not a library model: see docs/adr/0029-layered-decision.md. Training reads only the train split, takes a few
tens of milliseconds at first use (memoised per process), is deterministic and writes no file; scoring a message
is a dictionary walk over its features.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from domain.decisions import corpus
from domain.decisions.text import features, normal

ALPHA = 1.0  # additive smoothing
TEMPERATURE = 10.0
WINDOW = 600  # naive Bayes is overconfident: its log scores are divided by this before the softmax


@dataclass(frozen=True)
class Model:
    """Naive Bayes in a form that is cheap to score: per feature, how much more (log) likely each class finds it
    than a feature the class never showed; ``base``: each class's log prior."""

    classes: tuple[str, ...]
    base: tuple[float, ...]
    unseen: tuple[float, ...]
    table: dict[str, tuple[float, ...]]

    def scores(self, text: str) -> dict[str, float]:
        """Class probabilities of a (raw or normalised) text, summing to 1, softened by ``TEMPERATURE``."""
        return self.scores_of(feature_set(window(normal(text))))

    def scores_of(self, feats: frozenset[str]) -> dict[str, float]:
        """Class probabilities of a feature set."""
        logs = list(self.base)
        n = 0
        get = self.table.get
        for row in map(get, feats):
            if row is not None:
                n += 1
                for i, value in enumerate(row):
                    logs[i] += value
        logs = [(v + n * u) / TEMPERATURE for v, u in zip(logs, self.unseen, strict=True)]
        top = max(logs)
        exp = [math.exp(v - top) for v in logs]
        total = sum(exp)
        return {c: e / total for c, e in zip(self.classes, exp, strict=True)}


def window(text: str) -> str:
    """What the classifiers read of a long conversation: its first and last ``WINDOW`` characters (the patterns
    read everything)."""
    return text if len(text) <= 2 * WINDOW else text[:WINDOW] + " " + text[-WINDOW:]


@lru_cache(maxsize=256)
def feature_set(text: str) -> frozenset[str]:
    """The distinct features of a normalised text (shared by the three models). A turn reads the same text up to
    three times; 256 entries serve many turns at once, and bound what the cache holds: a whole conversation's set
    is ~25 KB, so 4,096 entries (the size until ADR 0062) grew a busy process by ~107 MB."""
    return frozenset(features(text))


def train(examples: Iterable[tuple[str, str]], alpha: float = ALPHA) -> Model:
    """A model from (text, class) pairs. Features count once per example (binary NB), which suits short texts.

    Kept small for a process's whole life (docs/adr/0062-lean-web-process.md): the examples' feature sets are made
    here, outside ``feature_set``'s cache (which serves the turns); features with the same counts in every class
    share one row, and each feature's name is one interned string whichever model holds it."""
    counts: dict[str, Counter[str]] = {}
    docs: Counter[str] = Counter()
    for text, label in examples:
        docs[label] += 1
        counts.setdefault(label, Counter()).update(frozenset(features(normal(text))))
    vocabulary = sorted({f for c in counts.values() for f in c})
    size = len(vocabulary)
    classes = tuple(sorted(counts))
    total_docs = sum(docs.values())
    denominators = [sum(counts[c].values()) + alpha * size for c in classes]
    unseen = tuple(math.log(alpha / d) for d in denominators)
    rows: dict[tuple[int, ...], tuple[float, ...]] = {}  # the same counts give the same row: made once, shared
    table: dict[str, tuple[float, ...]] = {}
    for f in vocabulary:
        seen = tuple(counts[c][f] for c in classes)
        row = rows.get(seen)
        if row is None:
            row = rows[seen] = tuple(
                math.log((n + alpha) / d) - u for n, d, u in zip(seen, denominators, unseen, strict=True)
            )
        table[sys.intern(f)] = row
    base = tuple(math.log(docs[c] / total_docs) for c in classes)
    return Model(classes, base, unseen, table)


def conversation_label(example: corpus.Example) -> str:
    """The intent class of a whole conversation: p1, refund (a refund asked back, over or under the threshold),
    or other."""
    if example.rule == "p1":
        return "p1"
    if example.rule == "p2" or (example.amount is not None and example.topic == "Refunds & Cancellation"):
        return "refund"
    return "other"


def warm() -> None:
    """Train the three models now (a web process calls this at start, so no chat turn pays the training)."""
    intent_model(), person_model(), topic_model()


@lru_cache(maxsize=1)
def intent_model() -> Model:
    """Whole conversation → p1 / refund / other."""
    return train((" ".join(e.messages), conversation_label(e)) for e in corpus.split("train"))


@lru_cache(maxsize=1)
def person_model() -> Model:
    """Latest message → person / other."""
    return train((e.messages[-1], "person" if e.rule == "person" else "other") for e in corpus.split("train"))


@lru_cache(maxsize=1)
def topic_model() -> Model:
    """Whole conversation → one of the default topics."""
    return train((" ".join(e.messages), e.topic) for e in corpus.split("train"))
