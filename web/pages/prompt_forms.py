"""The prompt studio's forms: what an editor tab's form fields mean as draft changes, and the side-by-side rows
of two system prompts.

Only the shape changes here (a line "Billing: invoice, charge" becomes a topic with two keywords, "40" in a
percentage field becomes 0.4); every rule about what a valid draft is stays in domain/prompt_content.py, which
the save command applies.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.prompt_content import PromptContent

TABS = (
    ("system_prompt", "System prompt"),
    ("examples", "Few-shot examples"),
    ("topic_rules", "Topic rules"),
    ("escalation", "Escalation logic"),
    ("persona", "Persona"),
)
TAB_KEYS = tuple(key for key, _ in TABS)
LANGUAGE_NAMES = {"auto": "The customer's language", "en": "English", "de": "German", "fr": "French",
                  "es": "Spanish", "pt": "Portuguese", "it": "Italian", "nl": "Dutch"}  # fmt: skip
Form = Any  # litestar's FormMultiDict: .get(name) and .getall(name)


def _one(form: Form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _all(form: Form, name: str) -> list[str]:
    return [v for v in form.getall(name, []) if isinstance(v, str)] if hasattr(form, "getall") else []


def words(text: str) -> list[str]:
    """Keywords written one per line or separated by commas."""
    return [w.strip() for w in re.split(r"[,\n]", text) if w.strip()]


def _number(form: Form, name: str, label: str, *, whole: bool = False, percent: bool = False) -> float | int:
    raw = _one(form, name).strip().replace(",", ".") if not whole else _one(form, name).strip()
    try:
        value: float | int = int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise InvalidInput(f"{label}: write {kind} (you wrote {raw[:40]!r}).", code="out_of_range") from None
    if percent:
        return round(value / 100, 4)
    return int(value) if not whole and float(value).is_integer() else value


def topic_lines(rules: dict[str, list[str]]) -> str:
    """Topic rules as the editor shows them: one "Topic: keyword, keyword" line per topic."""
    return "\n".join(f"{name}: {', '.join(keywords)}" for name, keywords in rules.items())


def parse_topic_lines(text: str) -> dict[str, list[str]]:
    """The editor's lines back to topic rules (InvalidInput ``invalid_topic_rules`` for a line without a colon)."""
    rules: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, keywords = line.partition(":")
        if not colon or not name.strip():
            raise InvalidInput(
                f"Topic rules, line {n}: write the topic, a colon, then its keywords (Billing: invoice, charge).",
                code="invalid_topic_rules",
            )
        rules[name.strip()] = words(keywords)
    return rules


def escalation_changes(form: Form, base: dict[str, Any]) -> dict[str, Any]:
    """The rules cards' fields over the draft's escalation logic (what the cards do not show is kept)."""
    thresholds = dict(base["thresholds"])
    thresholds["low_confidence"] = _number(form, "low_confidence", "Confidence threshold", percent=True)
    thresholds["max_ai_replies"] = _number(form, "max_ai_replies", "Turn limit", whole=True)
    thresholds["refund_over"] = _number(form, "refund_over", "Refund threshold")
    keywords = dict(base["keywords"])
    keywords["legal"] = words(_one(form, "legal_keywords"))
    keywords["human_request"] = words(_one(form, "human_keywords"))
    out = {**base, "thresholds": thresholds, "keywords": keywords}
    for name, default in (("currency", "USD"), ("compliance_questions", "answer")):
        given = _one(form, name).strip()
        given = given.upper() if name == "currency" else given
        if given and (given != default or name in base):  # an unset default stays unset: no change to show
            out[name] = given
    return out


def persona_changes(form: Form) -> dict[str, Any]:
    """The persona tab's fields."""
    return {
        "tone": _one(form, "tone"),
        "language": _one(form, "language"),
        "max_response_words": _number(form, "max_response_words", "Max response words", whole=True),
        "max_response_tokens": _number(form, "max_response_tokens", "Max response tokens", whole=True),
        "escalation_threshold": _number(form, "escalation_threshold", "Escalation threshold", percent=True),
        "primary_model": _one(form, "primary_model").strip(),
        "fallback_model": _one(form, "fallback_model").strip(),
    }


def example_changes(form: Form) -> list[dict[str, str]]:
    """The examples in the order shown; a row left blank (the spare one) or marked for removal is left out."""
    removed = set(_all(form, "ex_remove"))
    out = []
    for ex_id, user, assistant in zip(
        _all(form, "ex_id"), _all(form, "ex_user"), _all(form, "ex_assistant"), strict=False
    ):
        if (ex_id and ex_id in removed) or not (user.strip() or assistant.strip()):
            continue
        out.append({"id": ex_id, "user": user, "assistant": assistant})
    return out


def changes_from_form(tab: str, form: Form, base: PromptContent) -> dict[str, Any]:
    """One tab's fields as the changes of a draft (InvalidInput with a sentence for a field that is not a
    number, or a topic line without its colon)."""
    if tab == "system_prompt":
        return {"system_prompt": _one(form, "system_prompt").replace("\r\n", "\n")}
    if tab == "examples":
        return {"examples": example_changes(form)}
    if tab == "topic_rules":
        return {"topic_rules": parse_topic_lines(_one(form, "topic_rules"))}
    if tab == "escalation":
        return {"escalation": escalation_changes(form, base.escalation)}
    if tab == "persona":
        return {"persona": persona_changes(form)}
    raise InvalidInput(f"Unknown tab {tab[:40]!r}.", code="invalid_request")


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side diff: the left (older) and right (newer) text, and how they differ."""

    kind: str  # same, changed, removed, added
    left: str | None
    right: str | None
    left_no: int | None
    right_no: int | None


def side_by_side(old: str, new: str) -> list[Row]:
    """Two texts aligned line by line (difflib), unchanged lines included."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [Row("same", a[i], b[j], i + 1, j + 1) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            i = left[k] if k < len(left) else None
            j = right[k] if k < len(right) else None
            kind = "changed" if i is not None and j is not None else "removed" if i is not None else "added"
            rows.append(
                Row(
                    kind,
                    a[i] if i is not None else None,
                    b[j] if j is not None else None,
                    i + 1 if i is not None else None,
                    j + 1 if j is not None else None,
                )
            )
    return rows
