"""Normalisation shared by every layer: case, accents, curly quotes, letters repeated for emphasis, whitespace."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_REPEATS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=16_384)
def normal(text: str) -> str:
    """Lower case, accents removed (``ß`` → ``ss``), quotes straightened, ``sooooo`` → ``soo``, zero-width
    characters dropped, whitespace collapsed. Currency symbols and digits are kept."""
    text = (
        text.replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("ß", "ss")
        .replace("\u00a0", " ")
        .replace("\u00d7", "x")
    )
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c) and c not in "\u200b\u200c\u200d\ufeff")
    text = _REPEATS.sub(r"\1\1", text.lower())
    return _SPACES.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The words of a normalised text (letters and digits)."""
    return _WORD.findall(text)


def features(text: str) -> list[str]:
    """Classifier features of a normalised text: words and character 3- and 4-grams inside words (padded), which
    carry typos, inflections and the five languages without a dictionary."""
    tokens = words(text)
    out = [f"w:{t}" for t in tokens]
    for token in tokens:
        padded = f" {token} "
        for n in (3, 4):
            out += [padded[i : i + n] for i in range(len(padded) - n + 1)]
    return out
