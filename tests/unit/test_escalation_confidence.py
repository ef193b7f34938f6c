"""The chat turn decides twice: before the model is called (no confidence yet) and after (with the reply's
confidence). ``with_confidence`` derives the second decision from the first instead of reading the conversation
again (ADR 0064). Given every corpus conversation, each as the engine reads it turn after turn, with the default
and with a workspace's rules, with and without an LLM judge's verdict or failure, when the confidence is known, I
expect exactly what ``decide`` returns when given that confidence."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from domain.decisions import corpus
from domain.decisions.judge import Verdict, failed_layer
from domain.escalation import DEFAULT_RULES, LOW, NONE, P3, Rules, decide, with_confidence

WORKSPACE = Rules(
    turn_limit=3,
    low_confidence=0.6,
    routes_by_topic={"Billing": "finance", "Passwords & Auth": "identity"},
    holding_messages={"offer": "Shall I fetch a colleague?"},
    legal_keywords=("arbitration",),
    human_keywords=("a real agent",),
)
CONFIDENCES = (None, 0.0, 0.21, 0.39, 0.4, 0.59, 0.6, 0.95)


def conversations() -> list[tuple[str, ...]]:
    """Every prefix of every conversation of the train and dev splits (the turns of a chat, one after another)."""
    out = []
    for example in corpus.split("train") + corpus.split("dev"):
        out += [example.messages[: n + 1] for n in range(len(example.messages))]
    return out


@pytest.mark.parametrize("rules", [DEFAULT_RULES, WORKSPACE], ids=["default rules", "workspace rules"])
def test_the_second_decision_is_derived_exactly(rules: Rules) -> None:
    """Given each conversation and rules, when the confidence is known, then with_confidence equals decide."""
    seen = {NONE: 0, LOW: 0, P3: 0}
    for messages in conversations():
        visitor = list(messages)
        early = decide(visitor, rules=rules)
        for confidence in CONFIDENCES:
            expected = decide(visitor, confidence=confidence, rules=rules)
            assert with_confidence(early, confidence, rules) == expected, (messages, confidence)
            seen[expected.rule] = seen.get(expected.rule, 0) + 1
    # the cases that matter were all met: no rule (kept), low confidence (derived), the turn limit (kept; the
    # corpus has no conversation of the default limit's six messages, the workspace's limit is three)
    assert seen[NONE] and seen[LOW]
    assert seen[P3] or rules.turn_limit > max(len(m) for m in conversations())


@pytest.mark.parametrize(
    ("verdict", "failed"),
    [
        (Verdict("none", None, None, "Billing", 0.7, "asks about an invoice", "claude-haiku"), None),
        (Verdict("refund", Decimal(20), "USD", "Refunds & Cancellation", 0.8, "wants 20 back", "claude-haiku"), None),
        (None, failed_layer("timeout", "claude-haiku")),
    ],
    ids=["judge says none", "judge says a small refund", "judge failed"],
)
def test_with_a_judge_the_second_decision_is_derived_exactly(
    verdict: Verdict | None, failed: dict[str, Any] | None
) -> None:
    """Given the LLM judge's verdict (or the record of its failure) on each conversation, then the same holds."""
    lows = 0
    for messages in conversations()[::7]:
        visitor = list(messages)
        early = decide(visitor, rules=WORKSPACE, verdict=verdict, judge_failed=failed)
        for confidence in CONFIDENCES:
            expected = decide(visitor, confidence=confidence, rules=WORKSPACE, verdict=verdict, judge_failed=failed)
            assert with_confidence(early, confidence, WORKSPACE) == expected, (messages, confidence)
            lows += expected.rule == LOW
    assert lows
