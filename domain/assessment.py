"""Confidence and topic of an AI reply (docs/ai.md, "Confidence and topic").

With the model's self-assessment ``m`` (the ``<confidence>`` trailer it writes after its answer):
    confidence = 0.5 * m + 0.3 * retrieval support + 0.2 * (1 - hedging)
without one (missing, garbled, or the offline answerer, which writes none):
    confidence = 0.6 * retrieval support + 0.4 * (1 - hedging)
clamped to [0, 1] and rounded to 3 places, where retrieval support is how much of the visitor's
question the best help article covers, and hedging is 1 when the reply admits it does not know.
Topic: ``topic_of`` (multilingual keywords and the corpus classifier, docs/escalation.md); when it finds
nothing (Other), the model's own classification if it names one of the workspace's topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.retrieval import Document, Index

DEFAULT_TOPICS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Legal & Compliance",
        (
            "gdpr",
            "lawyer",
            "lawsuit",
            "legal",
            " sue ",
            " sued",
            "suing",
            "attorney",
            "atorney",
            "laywer",
            "lawsiut",
            "compliance",
            "data protection",
            "dpa",
            "subpoena",
            "regulator",
            "chargeback",
            "chargback",
            "dispute",
            "reverse the payment",
            " ftc",
            "ombudsman",
            "consumer protection",
            "better business bureau",
            "small claims",
            "court",
            "cease and desist",
            "class action",
            "breach of contract",
            "abogad",
            "avocat",
            "anwalt",
            "denuncia",
            "ccpa",
            "trading standards",
            "claw back",
        ),
    ),
    (
        "Refunds & Cancellation",
        (
            "refund",
            "refnd",
            "money back",
            "dollars back",
            "euros back",
            "give us back",
            "give me back",
            "cancel",
            "charged twice",
            "reembolso",
            "remboursement",
            "erstattung",
        ),
    ),
    (
        "Passwords & Auth",
        (
            "password",
            "contraseña",
            "passwort",
            "mot de passe",
            "log in",
            "login",
            "sign in",
            "2fa",
            "two-factor",
            "locked out",
            "reset link",
            "sso",
        ),
    ),
    (
        "Billing",
        (
            "invoice",
            "rechnung",
            "factura",
            "facture",
            "billing",
            "charge",
            "payment",
            "card",
            "plan",
            "pricing",
            "vat",
            "receipt",
            "subscription",
        ),
    ),
    ("API & Integrations", ("api", "webhook", "integration", "sdk", "token", "endpoint", "zapier", "slack")),
    (
        "Onboarding",
        (
            "getting started",
            "get started",
            "signed up",
            "import",
            "set up",
            "setup",
            "onboard",
            "invite",
            "first time",
            "how do i start",
        ),
    ),
]
_HEDGES = re.compile(
    r"\b(i(?:'m| am) not sure|i don'?t know|i couldn'?t find|i could not find|not certain|unable to help|"
    r"can'?t help with that|bring in a person|connect you (?:with|to) (?:a|our) )",
    re.IGNORECASE,
)


def topic_of(text: str, topics: list[tuple[str, tuple[str, ...]]] = DEFAULT_TOPICS) -> str:
    """The topic of a visitor's text: what it is about, in any of the five languages (domain/decisions/topics.py:
    multilingual whole-word keywords and the classifier trained on the corpus; the workspace's own keywords
    beyond the shipped ones vote too)."""
    from domain.decisions.text import normal  # the decisions package reads DEFAULT_TOPICS' names only
    from domain.decisions.topics import classify

    return classify(normal(text), list(topics), {name: words for name, words in DEFAULT_TOPICS})[0]


OTHER = "Other"
COMBINED, RULES = "combined", "rules"  # how a confidence was made: with the model's self-assessment, or without
_TAG = r"<{0}>\s*(.*?)\s*</{0}>"
_NUMBER = re.compile(r"([01](?:\.\d+)?|\.\d+)|(\d{1,3}(?:\.\d+)?)\s*%")


@dataclass(frozen=True)
class SelfAssessment:
    """What the model said about its own answer: a confidence in [0, 1] and a topic name, each None when absent
    or garbled."""

    confidence: float | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Confidence:
    """A reply's confidence and the parts it was made of (recorded on AssistantReplied for auditors)."""

    final: float
    self_assessed: float | None
    retrieval: float
    hedging: float
    method: str  # COMBINED or RULES

    def to_dict(self) -> dict[str, float | str | None]:
        """Plain values, as stored in the event."""
        return {
            "final": self.final,
            "self_assessed": self.self_assessed,
            "retrieval": self.retrieval,
            "hedging": self.hedging,
            "method": self.method,
        }


def parse_self_assessment(trailer: str) -> SelfAssessment:
    """The ``<confidence>`` and ``<topic>`` tags of a reply's trailer. A confidence is a number from 0 to 1
    (``0.82``) or a percentage (``82%``); anything else (``high``, ``1.7``, two numbers) is garbled: None."""
    confidence: float | None = None
    found = re.search(_TAG.format("confidence"), trailer, re.IGNORECASE | re.DOTALL)
    number = _NUMBER.fullmatch(found.group(1)) if found else None
    if number is not None:
        value = float(number.group(1)) if number.group(1) else float(number.group(2)) / 100
        confidence = value if 0.0 <= value <= 1.0 else None
    topic = re.search(_TAG.format("topic"), trailer, re.IGNORECASE | re.DOTALL)
    name = " ".join(topic.group(1).split()) if topic else ""
    return SelfAssessment(confidence, name[:60] or None)


def assess(
    question: str, answer: str, documents: list[Document] | Index | float, self_assessed: float | None = None
) -> Confidence:
    """The documented formula above: combined with the model's self-assessment when there is one. ``documents``:
    the retrieval support itself (a chat turn: the best chunk's, from the knowledge read model), or documents to
    rank here (pure tests and the demo seeder)."""
    if isinstance(documents, float | int):
        support = round(float(documents), 3)
    else:
        index = documents if isinstance(documents, Index) else Index(documents)
        hits = index.rank(question)
        support = round(hits[0].support, 3) if hits else 0.0
    hedging = 1.0 if _HEDGES.search(answer) else 0.0
    if self_assessed is None or not 0.0 <= self_assessed <= 1.0:
        value, method, self_assessed = 0.6 * support + 0.4 * (1 - hedging), RULES, None
    else:
        value, method = 0.5 * self_assessed + 0.3 * support + 0.2 * (1 - hedging), COMBINED
    return Confidence(round(max(0.0, min(1.0, value)), 3), self_assessed, support, hedging, method)


def confidence_of(question: str, answer: str, documents: list[Document] | Index) -> float:
    """The formula without a self-assessment, rounded to 3 places."""
    return assess(question, answer, documents).final


def known_topic(by_model: str | None, names: list[str]) -> str | None:
    """The workspace's topic the model named (compared without case; the workspace's spelling), or None: a name
    outside the list is not kept anywhere, since the model's free text belongs in the reply only."""
    wanted = (by_model or "").casefold()
    return next((name for name in [*names, OTHER] if name.casefold() == wanted), None) if wanted else None


def combined_topic(by_rules: str, by_model: str | None) -> str:
    """The topic rules win; when they find nothing (Other), the model's (known) topic."""
    return by_model if by_rules == OTHER and by_model else by_rules
