"""The LLM judge's policy (domain/decisions/judge.py) and how the engine applies its verdict (domain/escalation.py):
the band it is asked in, what it may and may not change, how its answer is read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.decisions.judge import Unreadable, Verdict, parse, uncertain
from domain.escalation import Rules, decide

TOPICS = ["Billing", "Refunds & Cancellation", "Legal & Compliance"]


def verdict(rule: str, amount: str | None = None, currency: str | None = None, topic: str | None = None) -> Verdict:
    return Verdict(rule, Decimal(amount) if amount else None, currency, topic, 0.8, "why", "claude-haiku-4-5")


@pytest.mark.parametrize(
    ("message", "asked"),
    [
        ("my lawyer will file a lawsuit against you", False),  # deterministic P1
        ("I want a refund of $900 for the annual plan", False),  # patterns + amount
        ("How do I export my data?", False),  # clearly none
        ("I am not happy at all, I will consider my options", True),  # the classifier alone
        ("I want a refund of $50 for last month", True),  # an amount within the threshold
    ],
)
def test_the_judge_is_asked_only_in_the_uncertain_band(message: str, asked: bool) -> None:
    assert uncertain(decide([message]).evidence) is asked


def test_a_deterministic_p1_is_never_overruled() -> None:
    decision = decide(["my lawyer will file a lawsuit against you"], verdict=verdict("none", topic="Billing"))
    assert (decision.rule, decision.evidence["decided_by"], decision.topic) == (
        "p1_legal",
        "patterns",
        "Legal & Compliance",
    )
    assert {"layer": "llm judge", "rule": "none"}.items() <= decision.evidence["layers"][2].items()


def test_the_verdict_replaces_the_classifiers_and_may_escalate() -> None:
    unsure = "I am not happy at all, I will consider my options"
    assert decide([unsure]).rule == "p1_legal"
    overruled = decide([unsure], verdict=verdict("none", topic="Billing"))
    assert (overruled.rule, overruled.topic) == ("none", "Billing")
    assert decide(["my bank says the payment looks odd"], verdict=verdict("p1")).evidence["decided_by"] == "llm judge"
    assert decide(["can someone look at this"], verdict=verdict("person")).rule == "human_requested"


def test_a_refund_read_by_the_judge_is_converted_and_compared_to_the_threshold() -> None:
    rules = Rules(currency="EUR")
    over = decide(["I'd like my money back for those seats"], rules=rules, verdict=verdict("refund", "900", "USD"))
    assert (over.rule, over.evidence["amount"], over.evidence["currency"]) == ("p2_refund_over_threshold", "900", "USD")
    assert over.evidence["amount_read_as"] == "read by the LLM judge" and over.evidence["converted"] != "900"
    under = decide(["I'd like my money back for those seats"], verdict=verdict("refund", "40", "USD"))
    assert under.rule == "none"


def test_the_answer_is_read_strictly() -> None:
    read = parse('{"rule": "refund", "amount": 120.5, "currency": "eur", "topic": "Billing", "confidence": 0.7,'
                 ' "reason": "  asks  back\\n the fee "}', TOPICS, "m")  # fmt: skip
    assert (read.rule, read.amount, read.currency, read.topic, read.reason) == (
        "refund", Decimal("120.5"), "EUR", "Billing", "asks back the fee",
    )  # fmt: skip
    assert parse({"rule": "none", "topic": "Astrology", "confidence": 1}, TOPICS).topic is None
    for garbage in ["not json", "[1, 2]", {"rule": "sue"}, {"rule": "p1", "confidence": 2},
                    {"rule": "refund", "amount": "lots"}, {"rule": "refund", "amount": -5}]:  # fmt: skip
        with pytest.raises(Unreadable):
            parse(garbage, TOPICS)
