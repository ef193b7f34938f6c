"""How the chat monitor words priorities, reasons, waits and evidence (web/pages/monitor_labels.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.escalation import decide
from web.pages import monitor_labels as labels

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_priorities_read_high_or_med() -> None:
    assert [labels.priority_label(p) for p in (1, 2, 3, None)] == ["High", "High", "Med", None]


def test_the_short_reason_of_each_rule_as_the_product_words_it() -> None:
    legal = decide(["This is fraud, my lawyer will be contacting you about a lawsuit"])
    refund = decide(["I want a refund of $450 for last month, I was charged twice"])
    assert labels.short_reason(legal.rule, legal.reason, legal.evidence) == "Legal terminology detected"
    assert labels.short_reason(refund.rule, refund.reason, refund.evidence) == "Refund exceeds $200 threshold"
    # the list has only the recorded reason sentence: the threshold is read from it
    assert labels.short_reason(refund.rule, refund.reason) == "Refund exceeds $200 threshold"
    euros = "Refund asked for 300 EUR, over the threshold of 250 EUR."
    assert labels.short_reason("p2_refund_over_threshold", euros) == "Refund exceeds €250 threshold"
    assert labels.short_reason("human_requested", "The visitor asked for a person.") == "Visitor asked for a person"
    assert labels.short_reason("p3_turn_limit", "Not resolved after 6 turns (limit 6).") == "Not resolved after 6 turns"
    assert labels.short_reason(None, None) is None and labels.short_reason("none", "No rule fired.") is None


def test_waits_read_in_minutes_hours_and_days() -> None:
    assert labels.waited(T0, T0 + timedelta(seconds=50)) == "<1 min"
    assert labels.waited(T0, T0 + timedelta(minutes=4, seconds=59)) == "4 min"
    assert labels.waited(T0, T0 + timedelta(hours=1, minutes=5)) == "1 h 05 min"
    assert labels.waited(T0, T0 + timedelta(days=2, hours=3)) == "2 d 3 h"
    assert labels.waited(None, T0) == "—"
    assert labels.waited(T0 + timedelta(seconds=5), T0) == "<1 min"  # clocks a little apart never go negative


def test_evidence_facts_name_the_words_the_amount_and_the_threshold() -> None:
    refund = decide(["I want a refund of $450 for last month, I was charged twice"])
    facts = dict(labels.evidence_facts(refund.rule, refund.evidence, ["refund of $450"]))
    assert facts["Matched"] == "“refund of $450”"
    assert facts["Amount asked back"] == "$450" and facts["Threshold"] == "$200"
    assert facts["Decided by"] == "patterns + amount"
    rows = labels.layers(refund.evidence)
    assert rows[0]["layer"] == "classifier" and any(r["verdict"] == "p2_refund_over_threshold" for r in rows)


def test_visitors_are_named_by_their_id_and_the_widgets_anonymous_ids_shortened() -> None:
    assert labels.visitor_label("sarah@corp.io") == "sarah@corp.io"
    assert labels.visitor_label("anon_3fa2c1d4e5f60718293a4b5c6d7e8f90") == "Visitor 3fa2c1"
    assert labels.visitor_label(None) == "Anonymous visitor"
