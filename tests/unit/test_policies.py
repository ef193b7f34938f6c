"""Pure policies: pricing, budget, retrieval, confidence and topic, workspace settings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.assessment import confidence_of, topic_of
from domain.budget import decide_budget
from domain.errors import InvalidInput
from domain.pricing import PRICES, Usage, cost_usd
from domain.retrieval import Document, count_tokens, rank
from domain.workspace import WorkspaceSettings


def test_cost_includes_cache_reads_and_writes() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    assert cost_usd("claude-sonnet-4-6", usage) == Decimal("22.05")
    assert cost_usd("gpt-4o-mini", Usage(2000, 1000)) == Decimal("0.0009")


def test_an_unpriced_model_has_unknown_cost_never_zero() -> None:
    assert cost_usd("claude-sonnet-5-5", Usage(10, 10)) is None


def test_every_price_names_its_date_and_source() -> None:
    for model, price in PRICES.items():
        assert price.as_of[:2] == "20" and price.source, model


def test_budget_refuses_or_switches_to_the_cheaper_model() -> None:
    settings = WorkspaceSettings(monthly_token_budget=1000)
    assert decide_budget(settings, 999).refuse is False
    assert decide_budget(settings, 1000).refuse is True
    cheaper = decide_budget(WorkspaceSettings(monthly_token_budget=1000, over_budget="cheaper_model"), 5000)
    assert (cheaper.refuse, cheaper.model, cheaper.over_budget) == (False, "claude-haiku-4-5", True)
    assert decide_budget(WorkspaceSettings(monthly_token_budget=0), 10**9).refuse is False


@pytest.mark.parametrize(
    "changes",
    [
        {"max_history_turns": -1},
        {"max_response_tokens": 10**6},
        {"over_budget": "panic"},
        {"primary_model": " "},
        {"nonsense": 1},
    ],
)
def test_invalid_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        WorkspaceSettings().with_changes(changes)


def test_retrieval_ranks_the_article_that_covers_the_question() -> None:
    docs = [
        Document("pw", "reset password forgot sign in", "Use Forgot password.", "Reset"),
        Document("inv", "invoice billing pdf receipt", "See Billing > Invoices.", "Invoices"),
    ]
    hits = rank("I forgot my password", docs)
    assert hits[0].document.id == "pw" and hits[0].support == 1.0
    assert rank("hello there", docs) == []
    assert count_tokens("Hi, there!") == 4


def test_confidence_is_lower_when_the_reply_hedges_or_nothing_supports_it() -> None:
    docs = [Document("pw", "reset password forgot", "Use Forgot password.", "Reset")]
    supported = confidence_of("forgot password", "Use Forgot password.", docs)
    hedged = confidence_of("forgot password", "I'm not sure, let me bring in a person.", docs)
    unsupported = confidence_of("quantum teleport pricing", "It costs 5.", docs)
    assert supported == 1.0 and hedged == 0.6 and unsupported == 0.4


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("i want my money back", "Refunds & Cancellation"),
        ("cant log in, forgot pasword reset link expired", "Passwords & Auth"),
        ("our lawyer says this breaks GDPR", "Legal & Compliance"),
        ("where do i find the invoice for march", "Billing"),
        ("webhook signature does not verify", "API & Integrations"),
        ("how do I import a csv", "Onboarding"),
        ("the sky is blue", "Other"),
    ],
)
def test_topic_rules(text: str, topic: str) -> None:
    assert topic_of(text) == topic
