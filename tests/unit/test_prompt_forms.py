"""The prompt studio's form fields as draft changes, and the side-by-side diff rows (web/pages/prompt_forms.py)."""

from __future__ import annotations

import pytest
from litestar.datastructures import FormMultiDict as MultiDict

from domain.errors import InvalidInput
from domain.prompt_content import PromptContent
from web.pages.prompt_forms import changes_from_form, parse_topic_lines, side_by_side, topic_lines

BASE = PromptContent("Be kind.")


def test_topic_lines_go_there_and_back() -> None:
    rules = {"Billing": ["invoice", "charge"], "Login": ["password"]}
    assert parse_topic_lines(topic_lines(rules)) == rules
    assert parse_topic_lines("Billing: invoice,\n\n  Other:  ") == {"Billing": ["invoice"], "Other": []}
    with pytest.raises(InvalidInput, match="line 2: write the topic, a colon"):
        parse_topic_lines("Billing: invoice\nno colon here")


def test_the_rules_cards_change_only_what_they_show() -> None:
    form = MultiDict({
        "low_confidence": "35", "max_ai_replies": "8", "refund_over": "450.5", "currency": "eur",
        "legal_keywords": "lawyer, solicitor\nbarrister", "human_keywords": "human", "compliance_questions": "answer",
    })  # fmt: skip
    escalation = changes_from_form("escalation", form, BASE)["escalation"]
    assert escalation["thresholds"] == {**BASE.escalation["thresholds"], "low_confidence": 0.35, "max_ai_replies": 8,
                                        "refund_over": 450.5}  # fmt: skip
    assert escalation["keywords"]["legal"] == ["lawyer", "solicitor", "barrister"]
    assert escalation["keywords"]["urgent"] == BASE.escalation["keywords"]["urgent"]  # not on a card: kept
    assert escalation["currency"] == "EUR" and escalation["routing"] == BASE.escalation["routing"]
    assert "compliance_questions" not in escalation  # the default left unset: no change to show
    assert BASE.with_changes({"escalation": escalation}).escalation["currency"] == "EUR"
    with pytest.raises(InvalidInput, match="Turn limit: write a whole number"):
        changes_from_form("escalation", MultiDict({**form, "max_ai_replies": "6.5"}), BASE)


def test_examples_keep_their_order_and_drop_blank_and_removed_rows() -> None:
    form = MultiDict(
        [("ex_id", "a"), ("ex_user", "Hi"), ("ex_assistant", "Hello"), ("ex_id", "b"), ("ex_user", "Bye"),
         ("ex_assistant", "See you"), ("ex_id", ""), ("ex_user", " "), ("ex_assistant", ""), ("ex_remove", "b")]
    )  # fmt: skip
    assert changes_from_form("examples", form, BASE) == {"examples": [{"id": "a", "user": "Hi", "assistant": "Hello"}]}


def test_side_by_side_aligns_changed_added_and_removed_lines() -> None:
    rows = side_by_side("one\ntwo\nthree", "one\n2\nthree\nfour")
    assert [(r.kind, r.left, r.right, r.left_no, r.right_no) for r in rows] == [
        ("same", "one", "one", 1, 1),
        ("changed", "two", "2", 2, 2),
        ("same", "three", "three", 3, 3),
        ("added", None, "four", None, 4),
    ]
    assert [r.kind for r in side_by_side("a\nb", "a")] == ["same", "removed"]
