"""The escalation rules engine: pure, stdlib only, evaluated on every chat turn.

Given the visitor's messages, the turn count, whether the conversation is resolved and (after the model answered)
the reply's confidence, ``decide`` returns the first rule that fires, in priority order:

1. ``p1_legal``: legal threats, chargebacks, regulatory and data-protection complaints (escalate, no AI answer);
2. ``p2_refund_over_threshold``: a refund asked for, with an amount over the threshold in the stated currency;
3. ``human_requested``: the visitor asks for a person (always honoured);
4. ``p3_turn_limit``: the conversation is not resolved by turn N (offer a person);
5. ``low_confidence``: the reply's confidence is below the threshold (offer a person).

Amounts are compared in the currency the visitor stated, without conversion: "€300" is over a threshold of 200 just
as "$300" is. An amount with no currency (a refund of "3k") is compared as a plain number, currency ``None``.
The per-workspace escalation logic of the prompt configuration (domain/prompt_content.py) overrides the defaults.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

from domain.assessment import DEFAULT_TOPICS, topic_of

P1, P2, HUMAN, P3, LOW = "p1_legal", "p2_refund_over_threshold", "human_requested", "p3_turn_limit", "low_confidence"
NONE = "none"
PRIORITY = {P1: 1, P2: 2, HUMAN: 3, P3: 4, LOW: 5}
ESCALATE = frozenset({P1, P2, HUMAN})  # the AI does not answer; the others only offer a person
DEFAULT_HOLDING = "I'm bringing in someone from our team: they will join this chat in a few minutes."
DEFAULT_HOLDING_BY_RULE = {
    P1: "Thank you for telling us. I've passed this conversation to the right team, and a person will reply to you "
    "here as soon as possible.",
    P2: "I've passed your refund request to our billing team with the details of this conversation. A person will "
    "reply to you here shortly.",
}
DEFAULT_OFFER = "Would you like me to bring in a person from our team? Just say so."
DEFAULT_ROUTES = {P1: "legal", P2: "billing"}

_LEGAL = [
    r"\b(lawyers?|attorneys?|solicitors?|legal (counsel|team|department|dept|advisor|advice|folks|people|guys))\b",
    r"\b(our|my|your) legal\b",
    r"\b(lawyer|laywer|lawer|lawyr|atorney|attorny|attourney|atty)s?\b",
    r"\b(sue|sueing|suing|sued)\b",
    r"\blaw ?suits?\b|\blawsiut\b|\bclass[- ]action\b",
    r"\blegal (action|proceedings?|steps|route|recourse|measures)\b",
    r"\btake (this|it|you) to court\b|\bsmall[- ]claims\b",
    r"\bsee you in court\b|\bcourt order\b|\bcease (and|&) desist\b|\bsubpoena\b|\bbreach of contract\b",
    r"\bcharge[- ]?backs?\b|\bchargeb?ack\b|\bchargback\b",
    r"\bdisput\w*\b.{0,60}\b(bank|card|paypal|visa|amex|mastercard|credit card|issuer|transaction|charge|payment)",
    r"\b(bank|card company|card issuer|credit card|paypal)\b.{0,40}\b(disput\w*|reverse|claw ?back)",
    r"\bgdpr\b|\bgdrp\b|\bdsgvo\b|\brgpd\b|\bccpa\b|\bdata protection\b|\bdpa\b|\bcnil\b",
    r"(?<![.\w])ico\b(?! (file|icon|format))",  # the UK regulator, not a .ico file
    r"\bright to (erasure|be forgotten)\b|\bsupervisory authority\b|\bprivacy (complaint|regulator|commissioner)\b",
    r"\bregulators?\b|\bftc\b|\bcfpb\b|\bombuds\w*|\bconsumer (protection|rights? (agency|body|authority))\b",
    r"\bbetter business bureau\b|\bbbb\b|\battorney general\b|\btrading standards\b",
    r"\b(report|reporting) (you|this|your company)\b.{0,40}\b(authorit\w*|regulat\w*|agency|ftc|bbb|police)",
    r"\bfile (a )?(formal )?complaint with\b",
    # other languages
    r"\babogad[oa]s?\b|\bdenuncia\w*|\b(demandar|demandare|demandaremos|una demanda)\b|\btribunal\w*",
    r"\bavocats?\b|\bpoursuites?\b|\bmise en demeure\b|\b(porter|porte|deposer) plainte\b",
    r"\b(rechts)?anw(a|ae)lt\w*|\bverklag\w*|\bklage\b|\bgericht\b",
    r"\bavvocat[oi]\b|\badvogad[oa]s?\b|\b(fare|faremo|abrir|entrar com) (causa|processo)\b",
]
_LEGAL_FUZZY = ("lawyer", "attorney", "lawsuit", "chargeback", "ombudsman", "regulator")
_NOT_LEGAL = frozenset({"layer", "layers", "player", "players", "lawyered", "regulated", "regulate", "regular"})

_HUMAN = [
    r"\b(talk|speak|chat|get|connect|put|transfer|send|pass|hand)\w*\b.{0,25}\b(to|with|me)\b.{0,20}"
    r"\b(a |an |some |your |one of your |the )?(real |actual |live |human )?"
    r"(person|people|human|humans|agent|someone|somebody|representative|rep|manager|supervisor|staff|operator"
    r"|employee|team member|support team|support person)\b",
    r"\b(real|actual|live) (person|human|agent|people|support)\b|\bhuman being\b|\bhuman agent\b",
    r"\b(representative|operator)\b",
    r"\b(is there|are there|can i get|i (want|need|would like|'d like)|give me|get me)\b.{0,15}\b(a |an |some )?"
    r"(human|person|agent|real one)\b",
    r"\b(not|no more|stop) (a |the |this |talking to (a |the )?)?(bot|robot|ai|machine)\b",
    r"\b(call me( back)?|phone call|call back)\b",
    r"\bescalate\b",
    # other languages
    r"\bhablar con\b.{0,20}\b(persona|humano|agente|alguien)\b|\bpersona real\b",
    r"\bparler (a|avec)\b.{0,20}\b(humain|personne|conseiller|agent)\b|\bun humain\b",
    r"\b(mit )?(einem|einer) (mensch\w*|mitarbeiter\w*)\b|\becht\w* mensch\w*",
]

_REFUND = re.compile(
    r"\b(refund\w*|refudn\w*|refnd\w*|reimburs\w*|money back|my money|pay me back|paid back|credit (it )?back"
    r"|return (my|the) (money|payment)|reembolso\w*|devoluci\w*|rembours\w*|(ruck)?erstatt\w*|geld zuruck"
    r"|give (us|me) back"
    r"|(want|get|give|need)\b[^.?!]{0,30}(money|euros?|dollars?|bucks|pounds?|quid|\d)\s*back)\b"
)
_NUM = r"\d{1,3}(?:[,. ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_WORDS = {
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "cad": "CAD",
    "aud": "AUD",
    "chf": "CHF",
    "jpy": "JPY",
    "yen": "JPY",
}
_CODE = r"usd|eur|gbp|cad|aud|chf|jpy"
_WORD = r"usd|eur|gbp|cad|aud|chf|jpy|dollars?|bucks|euros?|pounds?|quid|yen"
_AMOUNTS = [
    re.compile(rf"(?P<cur>[$€£¥]|\b(?:{_CODE})\b)\s?(?P<num>{_NUM})\s?(?P<mult>k|grand|thousand)?\b"),
    re.compile(rf"\b(?P<num>{_NUM})\s?(?P<mult>k|grand|thousand)?\s?(?P<cur>[$€£¥]|\b(?:{_WORD})\b)"),
    re.compile(rf"\b(?P<num>{_NUM})\s?(?P<mult>k|grand|thousand)\b"),
    re.compile(
        rf"\b(?:refund(?: of| for)?|paid|charged|charge of|cost me|billed|price of)\s(?:me\s|us\s|you\s)?"
        rf"(?P<num>{_NUM})\b(?!\s?(?:%|days?|months?|years?|weeks?|times|users?|seats?|licen))"
    ),
]


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
    """Lower-cased, accents removed, curly quotes straightened, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c) and c not in "\u200b")
    return " ".join(text.lower().split())


def _matches(patterns: list[str], extra: tuple[str, ...], text: str) -> list[str]:
    found = [m.group(0).strip() for p in patterns for m in [re.search(p, text)] if m]
    found += [k for k in extra if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", text)]
    return list(dict.fromkeys(found))


def legal_phrases(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The legal / compliance phrases in a (normalised) text, including close misspellings of the key words."""
    found = _matches(_LEGAL, extra, text)
    found += [word for word in set(re.findall(r"[a-z]{6,}", text)) - _NOT_LEGAL if _near_legal_term(word)]
    return list(dict.fromkeys(found))


@lru_cache(maxsize=65_536)
def _near_legal_term(word: str) -> bool:
    """A close misspelling of a legal key word (ratio >= 0.85); memoised, since every turn re-reads the
    conversation's earlier messages, and the cheap upper bounds are checked before the exact ratio."""
    for term in _LEGAL_FUZZY:
        if word == term:
            continue
        matcher = SequenceMatcher(None, word, term)
        if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85:
            return True
    return False


def human_phrases(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The phrases asking for a person."""
    return _matches(_HUMAN, extra, text)


def _number(raw: str, mult: str | None) -> Decimal | None:
    raw = raw.replace(" ", ",")
    last = max(raw.rfind(","), raw.rfind("."))
    if last >= 0 and len(raw) - last - 1 in (1, 2):  # a decimal separator
        whole, frac = raw[:last], raw[last + 1 :]
        raw = re.sub(r"[,.]", "", whole) + "." + frac
    else:
        raw = re.sub(r"[,.]", "", raw)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value * 1000 if mult else value


def amounts(text: str) -> list[tuple[Decimal, str | None, str]]:
    """Money amounts in a (normalised) text: (value, ISO currency or None, the matched text)."""
    out: list[tuple[Decimal, str | None, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern in _AMOUNTS:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            value = _number(m.group("num"), m.groupdict().get("mult"))
            if value is None:
                continue
            cur = m.groupdict().get("cur")
            currency = (_SYMBOLS.get(cur) or _WORDS.get(cur.strip())) if cur else None
            taken.append(m.span())
            out.append((value, currency, m.group(0).strip()))
    return out


def decide(
    visitor_messages: list[str],
    *,
    turns: int | None = None,
    resolved: bool = False,
    confidence: float | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Decision:
    """The first rule that fires, in priority order (P1 > P2 > human request > P3 > confidence), or ``none``.

    ``turns``: the visitor's messages so far (default: their number); ``confidence``: the reply's, when known
    (before the model is called it is not, and the confidence rule cannot fire).
    """
    turns = len(visitor_messages) if turns is None else turns
    text = _normal(" \n ".join(visitor_messages))
    latest = _normal(visitor_messages[-1]) if visitor_messages else ""
    topic = topic_of(text, rules.topics)

    def fire(rule: str, reason: str, evidence: dict[str, Any], route: str | None = None) -> Decision:
        route = route or rules.routes_by_topic.get(topic) or rules.default_route
        if rule in ESCALATE:
            default = DEFAULT_HOLDING_BY_RULE.get(rule, DEFAULT_HOLDING)
            message = rules.holding_messages.get(rule) or (
                rules.holding_messages.get("business_hours", default) if rule == HUMAN else default
            )
            action = "escalate"
        else:
            message, action = rules.holding_messages.get("offer", DEFAULT_OFFER), "offer"
        return Decision(rule, PRIORITY[rule], action, reason, {**evidence, "turns": turns}, route, message, topic)

    legal = legal_phrases(text, rules.legal_keywords)
    if legal:
        route = rules.routes_by_topic.get("Legal & Compliance") or DEFAULT_ROUTES[P1]
        return fire(P1, "Legal or compliance language in the visitor's messages.", {"matched": legal}, route)
    refund = _REFUND.search(text)
    if refund:
        over = [a for a in amounts(text) if a[0] > rules.refund_over]
        if over:
            value, currency, said = max(over, key=lambda a: a[0])
            route = rules.routes_by_topic.get("Refunds & Cancellation") or DEFAULT_ROUTES[P2]
            shown = f"{value.normalize():f} {currency or '(no currency)'}"
            return fire(
                P2,
                f"Refund asked for {shown}, over the threshold of {rules.refund_over:f}.",
                {
                    "matched": [refund.group(0), said],
                    "amount": format(value.normalize(), "f"),
                    "currency": currency,
                    "threshold": format(rules.refund_over, "f"),
                },
                route,
            )
    human = human_phrases(latest, rules.human_keywords)
    if human:
        return fire(HUMAN, "The visitor asked for a person.", {"matched": human})
    if turns >= rules.turn_limit and not resolved:
        return fire(
            P3, f"Not resolved after {turns} turns (limit {rules.turn_limit}).", {"turn_limit": rules.turn_limit}
        )
    if confidence is not None and confidence < rules.low_confidence:
        return fire(
            LOW,
            f"Reply confidence {confidence:.2f} is below {rules.low_confidence:.2f}.",
            {"score": confidence, "threshold": rules.low_confidence},
        )
    return Decision(NONE, None, "none", "No rule fired.", {"turns": turns}, None, None, topic)
