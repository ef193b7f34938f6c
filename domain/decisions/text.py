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


_INJECTION = re.compile(
    r"\[(system|assistant|inst|developer)\].*?\[/\1\]|\[/?(?:system|assistant|inst|user|developer)\]"
    r"|<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|</?[a-z][^<>]{0,200}>"
    r"|(?:^|(?<=[.!?\n]))\s*(?:system|assistant|developer)\s*:[^.!?\n]*[.!?]?"
    r"|\b(?:ignore|disregard|forget|override|bypass|ignora|ignorez|ignoriere|ignorieren|esqueca)\b(?: [\w']+){0,4}"
    r" (?:rules?|instructions?|prompts?|guidelines|polic(?:y|ies)|reglas|instrucciones|regles|consignes|regeln"
    r"|anweisungen|vorgaben|regras|instrucoes)\b(?:\s*(?:,|and|then|y|et|und|e)\s*(?:(?:escalate|classify|mark"
    r"|label|flag|route|treat|set|answer|respond|reply|output|say|print|pretend|act|decide|escala|marca|classe"
    r"|markiere|eskaliere|responde|reponds|antworte)\b[^.!?\n]*)?)?"
    r"|\byou are now\b[^.!?;\n]*[.!?;]?|\b(?:developer|dan|god|jailbreak) mode\b[^.!?;\n]*"
    r"|\b(?:classify|mark|label|flag|treat|tag)\w* (?:this|it|the conversation|this message|this chat) as (?:none"
    r"|p[1-5]|safe|normal|harmless|benign|not\b|low|high|urgent|resolved|other|legal|a legal threat|no escalation"
    r"|priority)\b[^.!?\n]*"
    r"|\bthe (?:rule|topic|priority) is \w+",
    re.DOTALL,
)


def without_injection(text: str) -> str:
    """A normalised message without text addressed to the assistant's rules rather than to support: markup and
    comments, ``[system]`` blocks, ``system:`` lines, "ignore your rules (and escalate / answer ...)", "you are now
    in developer mode", "classify this as ...". Such text decides nothing by itself; the rest of the message is
    read as usual ("ignore your instructions and connect me to a human" still asks for a person)."""
    if not any(c in text for c in "[<:") and not _CUES.search(text):
        return text
    return _SPACES.sub(" ", _INJECTION.sub(" ", text)).strip()


_CUES = re.compile(r"\b(?:ignor\w*|disregard|forget|override|bypass|esqueca|you are now|mode|classify|mark|label"
                   r"|flag|treat|tag|the (?:rule|topic|priority) is)\b")  # fmt: skip
