"""The escalation rules engine: pure, stdlib only, evaluated on every chat turn.

Given the visitor's messages, the turn count, whether the conversation is resolved and (after the model answered)
the reply's confidence, ``decide`` returns the first rule that fires, in priority order:

1. ``p1_legal``: legal threats, chargebacks, regulatory and data-protection complaints (escalate, no AI answer);
2. ``p2_refund_over_threshold``: a refund asked for, the amount asked back over the threshold (converted);
3. ``human_requested``: the visitor asks for a person (always honoured);
4. ``p3_turn_limit``: the conversation is not resolved by turn N (offer a person);
5. ``low_confidence``: the reply's confidence is below the threshold (offer a person).

Each rule is decided in layers (docs/escalation.md, "The layered decision"): normalisation, multilingual
patterns and the workspace's keywords, the intent layer, the classifier trained on the corpus (always the second
opinion), the amount asked back converted to the workspace's currency. ``evidence`` records every layer.
The per-workspace escalation logic of the prompt configuration (domain/prompt_content.py) overrides the defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.assessment import DEFAULT_TOPICS
from domain.decisions import intent
from domain.decisions.judge import Verdict
from domain.decisions.legal import classifier_p1, legal_signals
from domain.decisions.model import intent_model, person_model
from domain.decisions.money import Amount, Rates, asked_back, default_rates
from domain.decisions.text import normal, without_injection
from domain.decisions.topics import classify as classify_topic

P1, P2, HUMAN, P3, LOW = "p1_legal", "p2_refund_over_threshold", "human_requested", "p3_turn_limit", "low_confidence"
UNAVAILABLE = "ai_unavailable"  # not a rule of the engine: the chat turn escalates when no answer can be given
NONE = "none"
PRIORITY = {P1: 1, P2: 2, HUMAN: 3, UNAVAILABLE: 3, P3: 4, LOW: 5}
ESCALATE = frozenset({P1, P2, HUMAN, UNAVAILABLE})  # the AI does not answer; the others only offer a person
UNAVAILABLE_MESSAGES = {
    "budget_exhausted": "This workspace has used its monthly AI token budget, so the assistant cannot answer right "
    "now. Your message is saved and a person from the team will reply to you here.",
    "providers_unavailable": "The AI assistant is unavailable right now. Your message is saved and a person from the "
    "team will reply to you here.",
}
DEFAULT_HOLDING = "I'm bringing in someone from our team: they will join this chat in a few minutes."
DEFAULT_HOLDING_BY_RULE = {
    P1: "Thank you for telling us. I've passed this conversation to the right team, and a person will reply to you "
    "here as soon as possible.",
    P2: "I've passed your refund request to our billing team with the details of this conversation. A person will "
    "reply to you here shortly.",
}
DEFAULT_OFFER = "Would you like me to bring in a person from our team? Just say so."
DEFAULT_ROUTES = {P1: "legal", P2: "billing"}

REFUND_CLASSIFIER = 0.9  # a refund asked for, by the classifier alone
PERSON_CLASSIFIER = 0.85  # a person asked for, by the classifier alone
MAX_CHARS = 4000  # per message, read by the engine (the rest of a huge message is ignored)
MAX_MESSAGES = 50  # the latest ones
COMPLIANCE_POLICIES = ("answer", "escalate")
_PERSON = re.compile("|".join(f"(?:{p})" for p in intent.PERSON))


@dataclass(frozen=True)
class Rules:
    """The engine's configuration: thresholds, extra keyword phrases, routing and holding messages."""

    refund_over: Decimal = Decimal(200)
    turn_limit: int = 6
    low_confidence: float = 0.40
    legal_keywords: tuple[str, ...] = ()
    human_keywords: tuple[str, ...] = ()
    default_route: str = "support"
    routes_by_topic: dict[str, str] = field(default_factory=dict)
    holding_messages: dict[str, str] = field(default_factory=dict)
    topics: list[tuple[str, tuple[str, ...]]] = field(default_factory=lambda: list(DEFAULT_TOPICS))
    currency: str = "USD"  # the workspace's currency: refund_over is in it, amounts are converted to it
    rates: dict[str, str] = field(default_factory=dict)  # US dollars per unit, overriding the built-in rates
    compliance_questions: str = "answer"  # "escalate": any compliance mention is P1, questions included

    def money(self) -> Rates:
        """The built-in currency rates with this workspace's overrides."""
        return default_rates().with_overrides(self.rates)


DEFAULT_RULES = Rules()


def rules_from(escalation: dict[str, Any] | None, topics: list[tuple[str, tuple[str, ...]]] | None = None) -> Rules:
    """Rules from a prompt version's ``escalation`` logic (already validated); the defaults fill what it omits.

    ``thresholds``: ``refund_over``, ``max_ai_replies`` (turn limit), ``low_confidence``; ``keywords``: ``legal`` and
    ``human_request`` phrases add to the built-in patterns; ``routing``: ``default`` and ``by_topic``;
    ``holding_messages``: by rule id, else ``business_hours``.
    """
    base = Rules(topics=list(topics) if topics is not None else list(DEFAULT_TOPICS))
    if not escalation:
        return base
    thresholds = escalation.get("thresholds", {})
    keywords = escalation.get("keywords", {})
    routing = escalation.get("routing", {})
    return Rules(
        refund_over=Decimal(str(thresholds.get("refund_over", base.refund_over))),
        turn_limit=int(thresholds.get("max_ai_replies", base.turn_limit)),
        low_confidence=float(thresholds.get("low_confidence", base.low_confidence)),
        legal_keywords=tuple(_normal(k) for k in keywords.get("legal", ())),
        human_keywords=tuple(_normal(k) for k in keywords.get("human_request", ())),
        default_route=routing.get("default", base.default_route),
        routes_by_topic=dict(routing.get("by_topic", {})),
        holding_messages=dict(escalation.get("holding_messages", {})),
        topics=base.topics,
        currency=str(escalation.get("currency", base.currency)),
        rates={k: str(v) for k, v in escalation.get("rates", {}).items()},
        compliance_questions=str(escalation.get("compliance_questions", base.compliance_questions)),
    )


@dataclass(frozen=True)
class Decision:
    """What the engine decided for a turn. ``action``: escalate (no AI answer), offer (answer, then offer a
    person) or none."""

    rule: str
    priority: int | None
    action: str
    reason: str
    evidence: dict[str, Any]
    route: str | None
    message: str | None
    topic: str
    after_hours: bool | None = None  # set by the chat turn from the business hours (domain/business_hours.py)
    next_open_at: str | None = None  # ISO 8601 UTC, when after hours and the team opens again

    @property
    def escalates(self) -> bool:
        """True when the AI must not answer this turn."""
        return self.action == "escalate"

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for events and JSON)."""
        return {
            "rule": self.rule,
            "priority": self.priority,
            "action": self.action,
            "reason": self.reason,
            "evidence": dict(self.evidence),
            "route": self.route,
            "message": self.message,
            "topic": self.topic,
        }


def _normal(text: str) -> str:
    """Lower-cased, accents removed, quotes straightened, whitespace collapsed (domain/decisions/text.py)."""
    return normal(text)


def human_phrases(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The phrases asking for a person in a normalised message (none when it withdraws the request)."""
    if intent.PERSON_NOT.search(text):
        return []
    found = [m.group(0).strip() for m in _PERSON.finditer(text)]
    found += [k for k in extra if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", text)]
    return list(dict.fromkeys(found))


def refund_messages(messages: list[str]) -> list[bool]:
    """Per normalised message: does it ask for money back (not a question about refunds or their status)?"""
    return [intent.asks_refund(m) for m in messages]


def _shown(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")).normalize(), "f")


def decide(
    visitor_messages: list[str],
    *,
    turns: int | None = None,
    resolved: bool = False,
    confidence: float | None = None,
    rules: Rules = DEFAULT_RULES,
    verdict: Verdict | None = None,
    judge_failed: dict[str, Any] | None = None,
) -> Decision:
    """The first rule that fires, in priority order (P1 > P2 > human request > P3 > confidence), or ``none``.

    Layered (docs/escalation.md): normalisation; precise multilingual patterns and the workspace's keywords;
    the intent layer (negation, a question about the product or about compliance, a refund question); the
    classifier trained on the corpus, always consulted as the second opinion; amounts converted to the
    workspace's currency. ``evidence.layers`` records each layer's verdict and score, ``evidence.decided_by``
    the layer that decided. ``verdict``: the LLM judge's answer for an uncertain decision (domain/decisions/judge.py):
    it replaces the classifier's own verdicts and may escalate, but never overrules a deterministic layer;
    ``judge_failed``: the layer recorded when the judge was asked and gave no verdict (the offline decision stands).
    """
    turns = len(visitor_messages) if turns is None else turns
    messages = [without_injection(_normal(m[:MAX_CHARS])) for m in visitor_messages[-MAX_MESSAGES:]]
    text = " \n ".join(messages)
    latest = messages[-1] if messages else ""
    shipped = {name: words for name, words in DEFAULT_TOPICS}
    opinion = intent_model().scores(text) if text else {"p1": 0.0, "refund": 0.0, "other": 1.0}
    legal_route = rules.routes_by_topic.get("Legal & Compliance") or DEFAULT_ROUTES[P1]
    intents, mentions, by = legal_signals(messages, rules.legal_keywords, rules.compliance_questions)
    p1_by = by if intents and by is not None else None
    if p1_by is None and verdict is not None and verdict.rule == "p1":
        p1_by = "llm judge"
    elif p1_by is None and verdict is None and classifier_p1(messages, opinion["p1"], bool(mentions)):
        p1_by = "classifier"
    topic, topic_score, topic_how = classify_topic(text, rules.topics, shipped, p1=p1_by is not None)
    if p1_by is None and verdict is not None and verdict.topic in {name for name, _ in rules.topics} | {"Other"}:
        topic, topic_score, topic_how = str(verdict.topic), round(verdict.confidence, 3), "llm judge"
    person_score = person_model().scores(latest)["person"] if latest else 0.0
    scores = {k: round(v, 3) for k, v in sorted({**opinion, "person": person_score}.items())}
    layers: list[dict[str, Any]] = [
        {"layer": "classifier", "scores": scores},
        {"layer": "topic", "topic": topic, "score": topic_score, "by": topic_how},
    ]
    judged: dict[str, Any] = {}
    if verdict is not None:
        layers.append(verdict.layer())
        judged = {"judge_reason": verdict.reason}  # the judge's words may echo the visitor's: personal data
    elif judge_failed is not None:
        layers.append(judge_failed)

    def fire(
        rule: str, reason: str, evidence: dict[str, Any], by: str, score: float, route: str | None = None
    ) -> Decision:
        route = route or rules.routes_by_topic.get(topic) or rules.default_route
        if rule in ESCALATE:
            default = DEFAULT_HOLDING_BY_RULE.get(rule, DEFAULT_HOLDING)
            message = rules.holding_messages.get(rule) or (
                rules.holding_messages.get("business_hours", default) if rule == HUMAN else default
            )
            action = "escalate"
        else:
            message, action = rules.holding_messages.get("offer", DEFAULT_OFFER), "offer"
        layers.append({"layer": by, "rule": rule, "score": round(score, 3)})
        evidence = {**evidence, **judged, "turns": turns, "decided_by": by, "layers": layers}
        return Decision(rule, PRIORITY[rule], action, reason, evidence, route, message, topic)

    if p1_by == "llm judge" and verdict is not None:
        reason = "The LLM judge reads a legal threat, payment dispute or regulatory complaint."
        return fire(P1, reason, {"matched": mentions}, p1_by, verdict.confidence, legal_route)
    if p1_by is not None and p1_by != "classifier":
        reason = "A legal threat, payment dispute or regulatory complaint in the visitor's messages."
        return fire(P1, reason, {"matched": intents}, p1_by, 1.0, legal_route)
    if p1_by == "classifier":
        reason = "The classifier reads a legal threat, payment dispute or regulatory complaint."
        return fire(P1, reason, {"matched": mentions}, "classifier", opinion["p1"], legal_route)
    if mentions:
        layers.append({"layer": "intent", "rule": NONE, "reason": "legal words negated or asked about"})

    asking = refund_messages(messages)
    by_refund = "patterns" if any(asking) else None
    questions = any(intent.REFUND_QUESTION.search(m) for m in messages)
    if by_refund is None and verdict is not None and verdict.rule == "refund":
        by_refund = "llm judge"
        asking = [True] * len(messages)
    elif by_refund is None and verdict is None and opinion["refund"] >= REFUND_CLASSIFIER and not questions:
        by_refund = "classifier"
        asking = [True] * len(messages)
    if by_refund is not None:
        amount, how = asked_back(messages, asking)
        said = verdict.amount if verdict is not None and verdict.rule == "refund" else None
        if verdict is not None and said is not None and (by_refund == "llm judge" or amount is None):
            # the judge's amount when it decided the refund, or when the patterns found a refund but no amount
            amount, how, by_refund = Amount(said, verdict.currency, 0, 0, ""), "read by the LLM judge", "llm judge"
        if amount is not None:
            p2 = _p2(amount, how, rules)
            if p2 is not None:
                reason, evidence = p2
                route = rules.routes_by_topic.get("Refunds & Cancellation") or DEFAULT_ROUTES[P2]
                score = {"patterns": 1.0, "classifier": opinion["refund"]}.get(
                    by_refund, verdict.confidence if verdict else 1.0
                )
                return fire(P2, reason, evidence, f"{by_refund} + amount", score, route)
            layers.append({"layer": "amount", "rule": NONE, "reason": "amount asked back within the threshold"})

    human = human_phrases(latest, rules.human_keywords)
    if human:
        return fire(HUMAN, "The visitor asked for a person.", {"matched": human}, "patterns", 1.0)
    if verdict is not None and verdict.rule == "person":
        return fire(HUMAN, "The LLM judge reads a request for a person.", {"matched": []}, "llm judge",
                    verdict.confidence)  # fmt: skip
    if verdict is None and person_score >= PERSON_CLASSIFIER and not intent.PERSON_NOT.search(latest):
        reason = "The classifier reads a request for a person."
        return fire(HUMAN, reason, {"matched": []}, "classifier", person_score)
    if turns >= rules.turn_limit and not resolved:
        reason = f"Not resolved after {turns} turns (limit {rules.turn_limit})."
        return fire(P3, reason, {"turn_limit": rules.turn_limit}, "turn limit", 1.0)
    if confidence is not None and confidence < rules.low_confidence:
        return fire(
            LOW,
            f"Reply confidence {confidence:.2f} is below {rules.low_confidence:.2f}.",
            {"score": confidence, "threshold": rules.low_confidence},
            "confidence",
            confidence,
        )
    evidence = {**judged, "turns": turns, "decided_by": "none", "layers": layers}
    return Decision(NONE, None, "none", "No rule fired.", evidence, None, None, topic)


def unavailable(code: str, visitor_messages: list[str], rules: Rules = DEFAULT_RULES) -> Decision:
    """The escalation of a turn no AI can answer (``code``: budget_exhausted or providers_unavailable): the
    conversation joins its team's queue (route by topic, else the default) at the priority of a person asked for,
    and the visitor is told that a person will reply (a holding message of the workspace's ``ai_unavailable``
    logic, else the built-in sentence of ``code``)."""
    text = " \n ".join(_normal(m[:MAX_CHARS]) for m in visitor_messages[-MAX_MESSAGES:])
    shipped = {name: words for name, words in DEFAULT_TOPICS}
    topic, _, _ = classify_topic(text, rules.topics, shipped, p1=False)
    message = rules.holding_messages.get(UNAVAILABLE) or UNAVAILABLE_MESSAGES.get(
        code, UNAVAILABLE_MESSAGES["providers_unavailable"]
    )
    reason = {
        "budget_exhausted": "The workspace's monthly AI token budget is spent: no AI answer.",
        "providers_unavailable": "Every AI provider failed this turn: no AI answer.",
    }.get(code, f"No AI answer ({code}).")
    evidence = {"code": code, "turns": len(visitor_messages), "decided_by": "chat turn"}
    route = rules.routes_by_topic.get(topic) or rules.default_route
    return Decision(UNAVAILABLE, PRIORITY[UNAVAILABLE], "escalate", reason, evidence, route, message, topic)


def _p2(amount: Amount, how: str, rules: Rules) -> tuple[str, dict[str, Any]] | None:
    """The P2 reason and evidence when the amount asked back, in the workspace's currency, is over the threshold."""
    currency = amount.currency or rules.currency
    converted = rules.money().convert(amount.value, currency, rules.currency)
    compared = converted if converted is not None else amount.value
    if compared <= rules.refund_over:
        return None
    shown = f"{_shown(amount.value)} {currency}"
    if currency != rules.currency and converted is not None:
        shown += f" (= {_shown(converted)} {rules.currency})"
    reason = f"Refund asked for {shown}, over the threshold of {rules.refund_over:f} {rules.currency}."
    rates = rules.money()
    return reason, {
        "matched": [amount.said] if amount.said else [],
        "amount": _shown(amount.value),
        "currency": currency,
        "stated_currency": amount.currency,
        "converted": _shown(compared),
        "workspace_currency": rules.currency,
        "threshold": format(rules.refund_over, "f"),
        "amount_read_as": how,
        "rates_as_of": rates.as_of if converted is not None and currency != rules.currency else None,
        "converted_ok": converted is not None,
    }


def with_confidence(decided: Decision, confidence: float | None, rules: Rules = DEFAULT_RULES) -> Decision:
    """What ``decide`` returns for the same messages, turns, rules, verdict and judge record once the reply's
    ``confidence`` is known, given ``decided``, its answer without one: the confidence is read last, only when no
    rule fired (low confidence offers a person), so nothing else is read again. The chat turn decides before the
    model is called and again after it; this spares the second reading of the whole conversation (ADR 0064).
    Equal to ``decide(..., confidence=confidence)`` (tests/unit/test_escalation_confidence.py checks the corpus)."""
    if decided.rule != NONE or confidence is None or confidence >= rules.low_confidence:
        return decided
    evidence = decided.evidence
    judged = {k: v for k, v in evidence.items() if k not in ("turns", "decided_by", "layers")}
    layers = [*evidence["layers"], {"layer": "confidence", "rule": LOW, "score": round(confidence, 3)}]
    return Decision(
        LOW,
        PRIORITY[LOW],
        "offer",
        f"Reply confidence {confidence:.2f} is below {rules.low_confidence:.2f}.",
        {
            "score": confidence,
            "threshold": rules.low_confidence,
            **judged,
            "turns": evidence["turns"],
            "decided_by": "confidence",
            "layers": layers,
        },
        rules.routes_by_topic.get(decided.topic) or rules.default_route,
        rules.holding_messages.get("offer", DEFAULT_OFFER),
        decided.topic,
    )
