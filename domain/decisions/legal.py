"""The P1 layers: a legal threat, a payment dispute or chargeback, a regulatory complaint or demand.

Patterns find the phrases sentence by sentence; the intent layer sets aside a phrase that is negated ("nobody is
threatening anyone") or part of a question about the product ("can your product handle chargebacks?"); the
workspace's legal keywords always count; under the ``escalate`` compliance policy any compliance mention counts.
The classifier is the second opinion (``is_p1``).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import pairwise

from domain.decisions import lexicon, patterns
from domain.decisions.model import intent_model

P1_CLASSIFIER = 0.8  # the classifier's P1 probability that escalates on its own (5-fold CV on train + dev)
P1_CLASSIFIER_COMPLIANCE = 0.9  # ...when the conversation names compliance matters (certifications, DPAs, GDPR)
P1_CLASSIFIER_AFTER_NEGATION = 0.97  # ...when the only legal words were negated or a question about the product
_THREAT = re.compile("|".join(f"(?:{p})" for p in patterns.THREAT))
_NEGATED = re.compile("|".join(f"(?:{p})" for p in patterns.NEGATED))
_ABOUT = re.compile("|".join(f"(?:{p})" for p in patterns.ABOUT))
_COMPLIANCE = re.compile(patterns.COMPLIANCE_QUESTION)
_MENTION = re.compile(patterns.MENTION)
_NO_CHOICE = re.compile(patterns.NO_CHOICE)
# "..., or else / otherwise my lawyers get involved": the threat is a condition, the negation before it is not its own
_CONDITIONAL = re.compile(
    r"\b(?:or else|otherwise|sinon|o si no|si no lo|de lo contrario|sonst|andernfalls|senao|caso contrario)\b"
)
# Where a negation's or a reported threat's reach ends inside a sentence: a contrast ("but", "pero", "mais", "aber",
# "mas", "ma", "maar") or a clause whose subject is the visitor ("..., and I will file one too with my bank"). A
# threat after it is judged on its own clause: "I won't sue, but I will file a chargeback" is a dispute.
_FIRST_PERSON = r"(?:i|i'm|im|i'll|ill|i've|we|we're|we'll|yo|je|j'|j|nous|ich|wir|eu|nos|nosotros|io|noi|ik|wij)\b"
_CLAUSE_BREAK = re.compile(
    r"[,;:]?\s+(?:but|pero|sino|mais|aber|doch|mas|porem|ma|maar)\b"
    rf"|[,;:]?\s+(?:and|y|e|et|und|en)\s+(?:(?:now|then|so|honestly|also|too|ahora|luego|ya|maintenant|puis|jetzt"
    rf"|dann|agora|depois|ora|nu)\s+)?(?={_FIRST_PERSON})"
    rf"|[,;:]\s*(?:(?:so|now|then|and|entonces|ahora|alors|donc|also|jetzt|entao|agora)\s+)?(?={_FIRST_PERSON})"
)
_ACROSS = re.compile(lexicon.ACROSS_SENTENCES)
_OWN_DISPUTES = re.compile(patterns.OWN_DISPUTES)
_SENTENCES = re.compile(r"[^.!?;\n]+[.!?;]*")
# a full stop that ends no sentence: after an abbreviation ("art. 17", "nr.", "e.g.") or between digits
_NOT_A_STOP = re.compile(
    r"\b(art|arts|nr|no|num|abs|para|ziff|ref|inc|ltd|co|ca|vs|bzw|usw|dr|mr|mrs|ms|sr|sra|st|p|pp|s|n|z\.b|e\.g|i\.e)\."
    r"(?=\s?\w)|(?<=\d)\.(?=\d)"
)
_QUESTION = re.compile(r"\?\s*$|^(?:can|does|do|is|are|how|what|which|where|who|when|puede|pueden|peut|kann|pode)\b")
_FUZZY = ("chargeback", "lawsuit")
_LONG_WORDS = re.compile(r"\b[cl][a-z]{6,10}\b")  # misspellings keep the first letter


def _near(word: str) -> bool:
    """A close misspelling (ratio >= 0.85) of a word that is an intent by itself (chargeback, lawsuit)."""
    return _near_cached(word)


@lru_cache(maxsize=65_536)
def _near_cached(word: str) -> bool:
    for term in _FUZZY:
        if word != term:
            m = SequenceMatcher(None, word, term)
            if m.real_quick_ratio() >= 0.85 and m.quick_ratio() >= 0.85 and m.ratio() >= 0.85:
                return True
    return False


def legal_signals(
    messages: list[str], extra: tuple[str, ...] = (), compliance: str = "answer"
) -> tuple[list[str], list[str], str | None]:
    """The P1 phrases of normalised messages that are an intent (a threat, dispute, complaint or demand), those
    that are only a mention (negated, or a question about the product), and which deterministic layer found the
    first intent. Read message by message and memoised, since every turn re-reads the earlier messages."""
    intents: list[str] = []
    mentions: list[str] = []
    layer: str | None = None
    for message in messages:
        found, mentioned, by = _message_signals(message, extra, compliance)
        intents += found
        mentions += mentioned
        layer = layer or by
    terms = [t for phrase in intents for t in _MENTION.findall(phrase)]
    return list(dict.fromkeys(terms + intents)), list(dict.fromkeys(mentions)), layer


@lru_cache(maxsize=16_384)
def _message_signals(
    message: str, extra: tuple[str, ...], compliance: str
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    intents: list[str] = []
    mentions: list[str] = []
    layer: str | None = None
    for sentence in _SENTENCES.findall(_NOT_A_STOP.sub(lambda m: m.group(1) or "", message)):
        sentence = sentence.strip()
        own = [k for k in extra if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", sentence)]
        if own:
            intents += own
            layer = layer or "workspace keywords"
        threats = list(_THREAT.finditer(sentence))
        theirs = [m.span() for m in _OWN_DISPUTES.finditer(sentence)] if threats else []
        if theirs:  # one's own buyers' dispute, told or asked about: theirs, not the visitor's
            mine = [m for m in threats if not any(m.start() < end and start < m.end() for start, end in theirs)]
            mentions += [m.group(0).strip() for m in threats if m not in mine]
            threats = mine
        found = [m.group(0).strip() for m in threats]
        found += [w for w in _LONG_WORDS.findall(sentence) if _near(w)]
        if found:
            about = _ABOUT.search(sentence) and _QUESTION.search(sentence)
            cond = _CONDITIONAL.search(sentence)
            if cond and any(m.start() > cond.start() for m in _THREAT.finditer(sentence)):
                negated = []  # the threat follows "or else": a condition the negation does not take back
            else:
                negated = [(a, b) for a, b in _clauses(sentence) if _negates(sentence[a:b])]
            if about:
                mentions += found
            else:
                kept = [m.group(0).strip() for m in threats if not _within(m.start(), negated)]
                kept += [w for w in found[len(threats) :] if not _within(sentence.find(w), negated)]
                mentions += [p for p in found if p not in kept]
                intents += kept
                if kept:
                    layer = layer or "patterns"
        if compliance == "escalate" and (_COMPLIANCE.search(sentence) or _MENTION.search(sentence)):
            intents.append("compliance question")
            layer = layer or "policy: compliance questions escalate"
    if not intents and not mentions:
        sentences = [s.strip() for s in _SENTENCES.findall(message)]
        for pair in (f"{a} {b}" for a, b in pairwise(sentences)):
            found = [m.group(0).strip() for m in _ACROSS.finditer(pair)]
            if found and not _NEGATED.search(pair) and not pair.endswith("?"):
                intents += found
                layer = layer or "patterns"
    return tuple(intents), tuple(mentions), layer


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """The spans of ``sentence`` cut where a negation's reach ends (``_CLAUSE_BREAK``); the whole when none."""
    spans, start = [], 0
    for m in _CLAUSE_BREAK.finditer(sentence):
        spans.append((start, m.start()))
        start = m.start()
    spans.append((start, len(sentence)))
    return spans


def _negates(clause: str) -> bool:
    return bool(_NEGATED.search(clause)) and not _NO_CHOICE.search(clause)


def _within(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= position < b for a, b in spans)


def only_questions(messages: list[str]) -> bool:
    """Whether every sentence of the visitor's is a question: then the classifier alone does not escalate (its
    false positives on train + dev were mostly questions)."""
    sentences = [s.strip() for m in messages for s in _SENTENCES.findall(m) if len(s.strip()) > 3]
    return bool(sentences) and all(s.endswith("?") for s in sentences)


def classifier_p1(messages: list[str], score: float, mentions: bool) -> bool:
    """Whether the classifier's P1 probability escalates on its own: at P1_CLASSIFIER, or higher when the legal
    words were set aside or the text names compliance matters; never when every sentence is a question."""
    bar = P1_CLASSIFIER_AFTER_NEGATION if mentions else P1_CLASSIFIER
    if _COMPLIANCE.search(" ".join(messages)):
        bar = max(bar, P1_CLASSIFIER_COMPLIANCE)
    return score >= bar and not only_questions(messages)


def is_p1(messages: list[str]) -> bool:
    """Whether the default rules read these normalised messages as P1 (patterns, else the classifier)."""
    intents, mentions, _ = legal_signals(messages)
    if intents:
        return True
    score = intent_model().scores(" \n ".join(messages))["p1"] if messages else 0.0
    return classifier_p1(messages, score, bool(mentions))
