"""Provisional confidence and topic of an AI reply (the escalation engine will refine both).

confidence = 0.6 * retrieval support + 0.4 * (1 - hedging), clamped to [0, 1], where
retrieval support is how much of the visitor's question the best help article covers,
and hedging is 1 when the reply admits it does not know. Topic: the first rule whose
keywords appear in the visitor's messages, else "Other".
"""

from __future__ import annotations

import re

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
    """The topic of a visitor's text by keyword rules, in priority order."""
    lowered = f" {text.lower()} "
    for name, keywords in topics:
        if any(k in lowered for k in keywords):
            return name
    return "Other"


def confidence_of(question: str, answer: str, documents: list[Document] | Index) -> float:
    """The documented formula above, rounded to 3 places."""
    index = documents if isinstance(documents, Index) else Index(documents)
    hits = index.rank(question)
    support = hits[0].support if hits else 0.0
    hedging = 1.0 if _HEDGES.search(answer) else 0.0
    return round(max(0.0, min(1.0, 0.6 * support + 0.4 * (1 - hedging))), 3)
