"""How the chat monitor words what the read models record: priorities as High / Med, an escalation rule as the
short reason an agent scans ("Refund exceeds $200 threshold"), a wait as "4 min", a state as a chip.

Presentation only: the rule, its reason sentence, its evidence and the times come from the events (through the
monitor view or the agent's view); nothing here decides anything.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from web.pages._render import number, usd

HIGH_PRIORITY = 2  # P1 legal and P2 refund over the threshold are High; a person asked for (P3) and the rest Med
RULE_TITLES = {
    "p1_legal": "P1 · Legal or compliance",
    "p2_refund_over_threshold": "P2 · Refund over the threshold",
    "human_requested": "A person asked for",
    "p3_turn_limit": "P3 · Turn limit",
    "low_confidence": "Low AI confidence",
}
STATES = {
    "ai": ("AI answering", "ai"),
    "queued": ("Waiting for a person", "queued"),
    "assigned": ("Claimed", "assigned"),
    "agent": ("With an agent", "agent"),
    "returned_to_ai": ("Back with the AI", "ai"),
    "resolved": ("Resolved", "resolved"),
    "closed": ("Closed", "closed"),
}
_THRESHOLD = re.compile(r"threshold of ([0-9]+(?:\.[0-9]+)?) ([A-Z]{3})")
_TURNS = re.compile(r"after ([0-9]+) turns")


def visitor_label(visitor_id: str | None) -> str:
    """The visitor as a row names them: the id the customer's site gave ("sarah@corp.io"), or for the widget's own
    anonymous ids ("anon_3fa2…", 37 characters) "Visitor 3fa2c1"."""
    if not visitor_id:
        return "Anonymous visitor"
    if visitor_id.startswith("anon_") and len(visitor_id) > 11:
        return f"Visitor {visitor_id[5:11]}"
    return visitor_id


def priority_label(priority: int | None) -> str | None:
    """1 or 2 -> "High", 3 and beyond -> "Med", None (never escalated) -> None."""
    if priority is None:
        return None
    return "High" if priority <= HIGH_PRIORITY else "Med"


def money(amount: str, currency: str) -> str:
    """ "200", "USD" -> "$200"; "200.50", "EUR" -> "€200.50" (whole amounts without cents)."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return f"{amount} {currency}"
    if currency == "USD":
        shown = usd(value)
        return shown.replace(".00", "") if value == value.to_integral_value() else shown
    symbol = {"EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency)
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, ".2f")
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def short_reason(rule: str | None, reason: str | None, evidence: dict[str, Any] | None = None) -> str | None:
    """The reason an agent scans in a list: "Legal terminology detected", "Refund exceeds $200 threshold"... The
    threshold comes from the evidence when known, else from the recorded reason sentence."""
    if rule is None or rule == "none":
        return None
    evidence = evidence or {}
    if rule == "p1_legal":
        return "Legal terminology detected"
    if rule == "p2_refund_over_threshold":
        threshold, currency = evidence.get("threshold"), evidence.get("workspace_currency")
        if threshold is None and reason and (found := _THRESHOLD.search(reason)):
            threshold, currency = found[1], found[2]
        if threshold is None:
            return "Refund exceeds the threshold"
        return f"Refund exceeds {money(str(threshold), str(currency or 'USD'))} threshold"
    if rule == "human_requested":
        return "Visitor asked for a person"
    if rule == "p3_turn_limit":
        turns = evidence.get("turns")
        if turns is None and reason and (found := _TURNS.search(reason)):
            turns = found[1]
        return f"Not resolved after {turns} turns" if turns is not None else "Turn limit reached"
    if rule == "low_confidence":
        return "AI confidence below the threshold"
    return reason


def rule_title(rule: str | None) -> str:
    """The rule's name as the escalation card heads it."""
    return RULE_TITLES.get(rule or "", rule or "No rule")


def state_chip(state: str) -> tuple[str, str]:
    """(label, css class) of a conversation's state."""
    return STATES.get(state, (state.replace("_", " ").capitalize(), "ai"))


def waited(since: datetime | None, until: datetime) -> str:
    """The time between two instants as an agent reads a wait: "<1 min", "4 min", "1 h 05 min", "2 d 3 h"."""
    if since is None:
        return "—"
    minutes = max(0, int((until - since).total_seconds() // 60))
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d} min"
    days, hours = divmod(hours, 24)
    return f"{number(days)} d {hours} h"


def evidence_facts(
    rule: str | None, evidence: dict[str, Any] | None, matched_words: list[str] | None = None
) -> list[tuple[str, str]]:
    """The facts of a rule's evidence worth reading, as (label, value): what matched (the visitor's words, kept
    apart from the evidence as personal data), the amount and the threshold, the turns, the layer that decided."""
    e = evidence or {}
    facts: list[tuple[str, str]] = []
    matched = [str(m) for m in (matched_words or e.get("matched") or []) if m]
    if matched:
        facts.append(("Matched", ", ".join(f"“{m}”" for m in matched[:6])))
    if e.get("amount") is not None:
        amount = money(str(e["amount"]), str(e.get("currency") or e.get("workspace_currency") or "USD"))
        converted = e.get("converted")
        if converted is not None and e.get("currency") != e.get("workspace_currency"):
            amount += f" (= {money(str(converted), str(e.get('workspace_currency') or 'USD'))})"
        facts.append(("Amount asked back", amount))
    if e.get("threshold") is not None:
        facts.append(("Threshold", money(str(e["threshold"]), str(e.get("workspace_currency") or "USD"))))
    if e.get("turn_limit") is not None:
        facts.append(("Turn limit", str(e["turn_limit"])))
    if e.get("score") is not None and rule == "low_confidence":
        facts.append(("Confidence", f"{float(e['score']) * 100:.0f}% (threshold {float(e['threshold']) * 100:.0f}%)"))
    if e.get("turns") is not None:
        facts.append(("Visitor messages", str(e["turns"])))
    if e.get("decided_by"):
        facts.append(("Decided by", str(e["decided_by"])))
    return facts


def layers(evidence: dict[str, Any] | None) -> list[dict[str, str]]:
    """Each layer of the decision as a row: layer, verdict, score (evidence.layers, docs/escalation.md)."""
    rows = []
    for layer in (evidence or {}).get("layers") or []:
        if not isinstance(layer, dict):
            continue
        verdict = layer.get("rule") or layer.get("topic") or layer.get("reason") or ""
        if layer.get("scores"):
            verdict = ", ".join(f"{k} {float(v):.2f}" for k, v in layer["scores"].items())
        score = layer.get("score")
        rows.append(
            {
                "layer": str(layer.get("layer", "")),
                "verdict": str(verdict),
                "score": f"{float(score):.2f}" if isinstance(score, int | float) else "",
            }
        )
    return rows
