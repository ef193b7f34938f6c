"""A small multinomial naive Bayes classifier over character n-grams, trained from the corpus's train split.

Why not a library model: see docs/adr/0029-layered-decision.md. Training reads only the train split, takes a few
tens of milliseconds at first use (memoised per process), is deterministic and writes no file; scoring a message
is a dictionary walk over its features.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from domain.decisions import corpus
from domain.decisions.text import features, normal

ALPHA = 1.0  # additive smoothing
TEMPERATURE = 10.0  # naive Bayes is overconfident: its log scores are divided by this before the softmax


@dataclass(frozen=True)
class Model:
    """Log priors and per-class log likelihoods of features; ``unseen`` is the log likelihood of a feature the
    class never showed."""

    classes: tuple[str, ...]
    prior: dict[str, float]
    likelihood: dict[str, dict[str, float]]
    unseen: dict[str, float]
    vocabulary: frozenset[str]

    def scores(self, text: str) -> dict[str, float]:
        """Class probabilities of a (raw or normalised) text, summing to 1, softened by ``TEMPERATURE``."""
        feats = [f for f in set(features(normal(text))) if f in self.vocabulary]
        logs = {
            c: (self.prior[c] + sum(self.likelihood[c].get(f, self.unseen[c]) for f in feats)) / TEMPERATURE
            for c in self.classes
        }
        top = max(logs.values())
        exp = {c: math.exp(v - top) for c, v in logs.items()}
        total = sum(exp.values())
        return {c: exp[c] / total for c in self.classes}


def train(examples: Iterable[tuple[str, str]], alpha: float = ALPHA) -> Model:
    """A model from (text, class) pairs. Features count once per example (binary NB), which suits short texts."""
    counts: dict[str, Counter[str]] = {}
    docs: Counter[str] = Counter()
    for text, label in examples:
        docs[label] += 1
        counts.setdefault(label, Counter()).update(set(features(normal(text))))
    vocabulary = frozenset(f for c in counts.values() for f in c)
    size = len(vocabulary)
    classes = tuple(sorted(counts))
    total_docs = sum(docs.values())
    prior = {c: math.log(docs[c] / total_docs) for c in classes}
    likelihood: dict[str, dict[str, float]] = {}
    unseen: dict[str, float] = {}
    for c in classes:
        denominator = sum(counts[c].values()) + alpha * size
        likelihood[c] = {f: math.log((n + alpha) / denominator) for f, n in counts[c].items()}
        unseen[c] = math.log(alpha / denominator)
    return Model(classes, prior, likelihood, unseen, vocabulary)


def conversation_label(example: corpus.Example) -> str:
    """The intent class of a whole conversation: p1, refund (a refund asked back, over or under the threshold),
    or other."""
    if example.rule == "p1":
        return "p1"
    if example.rule == "p2" or (example.amount is not None and example.topic == "Refunds & Cancellation"):
        return "refund"
    return "other"


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
