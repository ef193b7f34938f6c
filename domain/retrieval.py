"""Pure text retrieval: a small BM25 over the workspace's help articles and examples."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")  # letters and digits of any script
_TOKEN = re.compile(r"\w+|[^\w\s]")
STOPWORDS = frozenset(
    (
        "a an and are as at be but by can do does for from have how i if in is it its me my of on or our please so "
        "that the this to was we what when where which who why will with you your hi hello hey thanks thank there "
        "their them they would could should im i'm i've ive get got"
    ).split()
)


def words(text: str) -> list[str]:
    """Lower-cased content words, stopwords removed, crude plural folding."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS:
            continue
        out.append(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def count_tokens(text: str) -> int:
    """A deterministic token count (words and punctuation), used where no provider reports usage."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class Document:
    """Something retrievable: an id, the text to match on and the answer to give."""

    id: str
    match_text: str
    answer: str
    title: str = ""


@dataclass(frozen=True)
class Hit:
    """A scored document; ``support`` in [0, 1] is the share of query words it covers."""

    document: Document
    score: float
    support: float


class Index:
    """Documents with their word bags precomputed, so each query costs only its own words."""

    def __init__(self, documents: list[Document], k1: float = 1.2, b: float = 0.75) -> None:
        self.documents = documents
        self.bags = [Counter(words(d.match_text)) for d in documents]
        self.lengths = [sum(bag.values()) for bag in self.bags]
        self.avg_len = (sum(self.lengths) / len(self.lengths) if self.lengths else 0.0) or 1.0
        self.df = Counter(w for bag in self.bags for w in set(bag))
        self.k1, self.b = k1, b

    def rank(self, query: str) -> list[Hit]:
        """BM25 ranking for ``query``, best first; documents sharing no word are dropped."""
        query_words = list(dict.fromkeys(words(query)))
        if not query_words or not self.documents:
            return []
        n = len(self.documents)
        hits = []
        for doc, bag, length in zip(self.documents, self.bags, self.lengths, strict=True):
            score, covered = 0.0, 0
            for w in query_words:
                tf = bag.get(w, 0)
                if not tf:
                    continue
                covered += 1
                idf = math.log(1 + (n - self.df[w] + 0.5) / (self.df[w] + 0.5))
                score += idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / self.avg_len))
            if covered:
                hits.append(Hit(doc, score, covered / len(query_words)))
        return sorted(hits, key=lambda h: (-h.score, h.document.id))


def rank(query: str, documents: list[Document]) -> list[Hit]:
    """One-off BM25 ranking of ``documents`` for ``query`` (build an Index to rank many queries)."""
    return Index(documents).rank(query)
