"""The content of a prompt version or draft, validated: system prompt, few-shot examples, topic rules, escalation
logic and persona, with their defaults, and the per-field diff of two contents (the aggregate is in
domain/prompt_config.py)."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from domain.app_settings import LANGUAGES
from domain.assessment import DEFAULT_TOPICS
from domain.decisions.money import default_rates
from domain.errors import InvalidInput

MAX_PROMPT_CHARS = 20_000
MAX_EXAMPLES = 50
MAX_EXAMPLE_CHARS = 4_000
MAX_TOPICS = 50
MAX_KEYWORDS = 100
TOKENS = (16, 8192)
WORDS = (10, 2000)
FIELDS = ("system_prompt", "examples", "topic_rules", "escalation", "persona")
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
OPTIONAL = {"currency", "rates", "compliance_questions"}  # escalation keys a version may set


DEFAULT_PERSONA: dict[str, Any] = {
    "tone": "friendly, clear and professional",
    "language": "auto",  # reply in the customer's language
    "max_response_words": 200,
    "max_response_tokens": 1024,
    "escalation_threshold": 0.40,  # kept for compatibility; the engine reads escalation.thresholds.low_confidence
    "primary_model": "claude-sonnet-4-6",
    "fallback_model": "gpt-4o-mini",
}
DEFAULT_ESCALATION: dict[str, Any] = {
    "thresholds": {"low_confidence": 0.40, "negative_sentiment": 0.7, "max_ai_replies": 6, "refund_over": 200},
    "keywords": {
        "human_request": ["human", "real person", "speak to someone", "talk to an agent", "customer service"],
        "legal": ["lawyer", "lawsuit", "legal action", "gdpr request", "subpoena"],
        "urgent": ["outage", "data loss", "security breach", "hacked", "charged twice"],
    },
    "routing": {
        "default": "support",
        "by_topic": {
            "Billing": "billing",
            "Refunds & Cancellation": "billing",
            "Legal & Compliance": "legal",
            "API & Integrations": "technical",
        },
    },
    "holding_messages": {
        "business_hours": "I'm bringing in someone from our team: they will join this chat in a few minutes.",
        "after_hours": "Our team is offline right now. Your conversation is saved and we will reply as soon as "
        "we are back.",
    },
}
# threshold name -> (low, high, whole number?)
THRESHOLDS: dict[str, tuple[float, float, bool]] = {
    "low_confidence": (0, 1, False),
    "negative_sentiment": (0, 1, False),
    "max_ai_replies": (1, 100, True),
    "refund_over": (0, 1_000_000, False),
}


def default_topic_rules() -> dict[str, list[str]]:
    """The built-in topic rules (domain.assessment), as configuration."""
    return {name: list(keywords) for name, keywords in DEFAULT_TOPICS}


def _bad(code: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=code)


def _number(name: str, value: object, low: float, high: float, whole: bool) -> float | int:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    if not ok or (whole and not isinstance(value, int)):
        kind = "a whole number" if whole else "a number"
        raise _bad("out_of_range", f"{name} must be {kind} from {low:g} to {high:g}.")
    return value  # type: ignore[return-value]


def _text(name: str, value: object, limit: int, code: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(code, f"{name} must be non-empty text.")
    if len(value) > limit:
        raise _bad(code, f"{name} must be at most {limit:,} characters.")
    return value


def _words(name: str, value: object, code: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_KEYWORDS:
        raise _bad(code, f"{name} must be a list of at most {MAX_KEYWORDS} keywords.")
    return [_text(f"a keyword of {name}", k, 60, code).strip().lower() for k in value]


def check_system_prompt(value: object) -> str:
    """The prompt, or InvalidInput ``empty_system_prompt`` / ``prompt_too_long``."""
    if not isinstance(value, str) or not value.strip():
        raise _bad("empty_system_prompt", "The system prompt is empty: write the instructions the assistant follows.")
    if len(value) > MAX_PROMPT_CHARS:
        raise _bad(
            "prompt_too_long",
            f"The system prompt has {len(value):,} characters; shorten it to at most {MAX_PROMPT_CHARS:,}.",
        )
    return value


def check_examples(value: object) -> list[dict[str, str]]:
    """Ordered examples, each {id, user, assistant}; a missing id gets ``ex-N``; ``invalid_example`` otherwise."""
    if not isinstance(value, list) or len(value) > MAX_EXAMPLES:
        raise _bad("invalid_example", f"examples must be a list of at most {MAX_EXAMPLES} user/assistant pairs.")
    out: list[dict[str, str]] = []
    for n, example in enumerate(value, start=1):
        if not isinstance(example, dict) or set(example) - {"id", "user", "assistant"}:
            raise _bad("invalid_example", f"Example {n} must be an object with id, user and assistant only.")
        for side in ("user", "assistant"):
            text = example.get(side)
            if not isinstance(text, str) or not text.strip():
                raise _bad("invalid_example", f"Example {n} is missing its {side} side: give both user and assistant.")
            if len(text) > MAX_EXAMPLE_CHARS:
                raise _bad("invalid_example", f"Example {n}: {side} must be at most {MAX_EXAMPLE_CHARS:,} characters.")
        given = example.get("id") or ""
        if given and not (isinstance(given, str) and _ID.fullmatch(given)):
            raise _bad("invalid_example", f"Example {n}: id must be 1 to 64 letters, digits, '-', '_' or '.'.")
        out.append({"id": given, "user": example["user"], "assistant": example["assistant"]})
    taken = {e["id"] for e in out if e["id"]}
    for n, example in enumerate(out, start=1):
        if not example["id"]:
            example["id"] = next(f"ex-{i}" for i in range(n, n + MAX_EXAMPLES + 2) if f"ex-{i}" not in taken)
            taken.add(example["id"])
    if len(taken) != len(out):
        raise _bad("invalid_example", "Two examples have the same id: give each example its own id.")
    return out


def check_topic_rules(value: object) -> dict[str, list[str]]:
    """Topic name -> keywords (lower-cased), in priority order; ``invalid_topic_rules`` otherwise."""
    if not isinstance(value, dict) or len(value) > MAX_TOPICS:
        raise _bad("invalid_topic_rules", f"topic_rules must map at most {MAX_TOPICS} topic names to keyword lists.")
    rules: dict[str, list[str]] = {}
    for name, keywords in value.items():
        rules[_text("a topic name", name, 60, "invalid_topic_rules")] = _words(
            f"topic {name!r}", keywords, "invalid_topic_rules"
        )
    return rules


def check_escalation(value: object) -> dict[str, Any]:
    """Thresholds, keyword lists, routing and holding messages; ``invalid_escalation`` / ``out_of_range``."""
    code = "invalid_escalation"
    if not isinstance(value, dict) or not set(DEFAULT_ESCALATION) <= set(value) <= set(DEFAULT_ESCALATION) | OPTIONAL:
        raise _bad(
            code,
            "escalation must have thresholds, keywords, routing and holding_messages, and may set currency, rates "
            "and compliance_questions.",
        )
    thresholds = value["thresholds"]
    if not isinstance(thresholds, dict) or set(thresholds) - set(THRESHOLDS):
        raise _bad(code, f"escalation.thresholds may only set {', '.join(THRESHOLDS)}.")
    checked = {k: _number(f"escalation.thresholds.{k}", v, *THRESHOLDS[k]) for k, v in thresholds.items()}
    keywords = value["keywords"]
    if not isinstance(keywords, dict) or len(keywords) > MAX_TOPICS:
        raise _bad(code, "escalation.keywords must map list names to keyword lists.")
    lists = {
        _text("a keyword list name", k, 60, code): _words(f"escalation.keywords.{k}", v, code)
        for k, v in keywords.items()
    }
    routing = value["routing"]
    by_topic = routing.get("by_topic") if isinstance(routing, dict) else None
    if not isinstance(routing, dict) or set(routing) != {"default", "by_topic"} or not isinstance(by_topic, dict):
        raise _bad(code, "escalation.routing must have a default queue and by_topic (topic name -> queue).")
    routes = {_text("a topic", t, 60, code): _text(f"the queue of {t!r}", q, 60, code) for t, q in by_topic.items()}
    messages = value["holding_messages"]
    if not isinstance(messages, dict):
        raise _bad(code, "escalation.holding_messages must map situations to messages.")
    holding = {
        _text("a situation", k, 60, code): _text(f"holding message {k!r}", v, 1000, code) for k, v in messages.items()
    }
    return {
        "thresholds": checked,
        "keywords": lists,
        "routing": {"default": _text("escalation.routing.default", routing["default"], 60, code), "by_topic": routes},
        "holding_messages": holding,
        **_money_and_policy(value),
    }


def _money_and_policy(value: dict[str, Any]) -> dict[str, Any]:
    """The optional ``currency`` (ISO 4217, with a known rate), ``rates`` (US dollars per unit, overriding the
    built-in table) and ``compliance_questions`` (answer | escalate) of the escalation logic."""
    out: dict[str, Any] = {}
    rates = value.get("rates", {})
    if not isinstance(rates, dict) or len(rates) > 200:
        raise _bad("invalid_escalation", "escalation.rates must map currency codes to US dollars per unit.")
    for code_, rate in rates.items():
        if not isinstance(code_, str) or not _CURRENCY.fullmatch(code_):
            raise _bad("invalid_escalation", f"escalation.rates: {code_!r} is not a three-letter currency code.")
        _number(f"escalation.rates.{code_}", rate, 1e-9, 1e9, False)
    if rates:
        out["rates"] = dict(rates)
    if "currency" in value:
        currency = value["currency"]
        if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
            raise _bad("invalid_escalation", "escalation.currency must be a three-letter code such as EUR.")
        if currency not in default_rates().usd_per_unit and currency not in rates:
            raise _bad(
                "unknown_currency",
                f"There is no exchange rate for {currency}: add it to escalation.rates (US dollars per unit).",
            )
        out["currency"] = currency
    if "compliance_questions" in value:
        policy = value["compliance_questions"]
        if policy not in ("answer", "escalate"):
            raise _bad("invalid_escalation", "escalation.compliance_questions must be answer or escalate.")
        out["compliance_questions"] = policy
    return out


def check_persona(value: object) -> dict[str, Any]:
    """Tone, language, lengths, escalation threshold and models (their routing is checked by the commands)."""
    code = "invalid_persona"
    if not isinstance(value, dict) or set(value) != set(DEFAULT_PERSONA):
        raise _bad(code, f"persona must have exactly {', '.join(DEFAULT_PERSONA)}.")
    language = value["language"]
    if language != "auto" and language not in LANGUAGES:
        raise _bad(code, f"persona.language must be auto or one of {', '.join(LANGUAGES)}.")
    for name in ("primary_model", "fallback_model"):
        _text(f"persona.{name}", value[name], 100, "unknown_model")
    return {
        "tone": _text("persona.tone", value["tone"], 200, code),
        "language": language,
        "max_response_words": _number("persona.max_response_words", value["max_response_words"], *WORDS, True),
        "max_response_tokens": _number("persona.max_response_tokens", value["max_response_tokens"], *TOKENS, True),
        "escalation_threshold": _number("persona.escalation_threshold", value["escalation_threshold"], 0, 1, False),
        "primary_model": value["primary_model"],
        "fallback_model": value["fallback_model"],
    }


@dataclass(frozen=True)
class PromptContent:
    """One version's (or draft's) content, validated on construction."""

    system_prompt: str
    examples: list[dict[str, str]] = field(default_factory=list)
    topic_rules: dict[str, list[str]] = field(default_factory=default_topic_rules)
    escalation: dict[str, Any] = field(default_factory=lambda: _copy(DEFAULT_ESCALATION))
    persona: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PERSONA))

    def __post_init__(self) -> None:
        object.__setattr__(self, "system_prompt", check_system_prompt(self.system_prompt))
        object.__setattr__(self, "examples", check_examples(self.examples))
        object.__setattr__(self, "topic_rules", check_topic_rules(self.topic_rules))
        object.__setattr__(self, "escalation", check_escalation(self.escalation))
        object.__setattr__(self, "persona", check_persona(self.persona))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptContent:
        """From stored values."""
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in events (a deep copy)."""
        plain: dict[str, Any] = _copy(asdict(self))
        return plain

    def with_changes(self, changes: dict[str, Any]) -> PromptContent:
        """A validated copy: system_prompt, examples and topic_rules are replaced; escalation and persona are
        merged key by key (so ``{"persona": {"tone": "warm"}}`` changes only the tone)."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise _bad(
                "invalid_prompt_config", f"Unknown field(s): {', '.join(unknown)[:200]}; known: {', '.join(FIELDS)}."
            )
        merged = self.to_dict()
        for name, value in changes.items():
            if name in ("escalation", "persona"):
                if not isinstance(value, dict):
                    raise _bad(f"invalid_{name}", f"{name} must be an object.")
                merged[name] = {**merged[name], **_copy(value)}
            else:
                merged[name] = _copy(value)
        return PromptContent.from_dict(merged)

    def changed_fields(self, other: PromptContent) -> list[str]:
        """The fields whose values differ from ``other``'s."""
        return [name for name in FIELDS if getattr(self, name) != getattr(other, name)]


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


def diff(old: PromptContent, new: PromptContent) -> dict[str, Any]:
    """Per field: changed or not; a unified line diff of the system prompt; examples and topic rules added, removed
    and changed by id / name; escalation and persona keys changed, with their values before and after."""
    prompt = list(
        difflib.unified_diff(old.system_prompt.splitlines(), new.system_prompt.splitlines(), "from", "to", lineterm="")
    )
    old_ex = {e["id"]: e for e in old.examples}
    new_ex = {e["id"]: e for e in new.examples}
    return {
        "system_prompt": {"changed": old.system_prompt != new.system_prompt, "unified_diff": "\n".join(prompt)},
        "examples": {
            "changed": old.examples != new.examples,
            **_keyed(old_ex, new_ex),
            "reordered": [e for e in old_ex if e in new_ex] != [e for e in new_ex if e in old_ex],
        },
        "topic_rules": {"changed": old.topic_rules != new.topic_rules, **_keyed(old.topic_rules, new.topic_rules)},
        "escalation": _values(old.escalation, new.escalation),
        "persona": _values(old.persona, new.persona),
    }


def _keyed(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "added": [k for k in new if k not in old],
        "removed": [k for k in old if k not in new],
        "modified": [k for k in new if k in old and old[k] != new[k]],
    }


def _values(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    return {"changed": bool(keys), "keys": {k: {"from": old.get(k), "to": new.get(k)} for k in keys}}
