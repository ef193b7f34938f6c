"""What the prompt studio and the escalation rules screen show, read in one go (blocking: call in a thread).

The live version with its author and time, every version with its note, the drafts and the one being edited,
whether the workspace requires a second admin's approval, and the names of the people involved. Everything comes
from the workspace's PromptConfig and the same helpers as GET /api/admin/prompts (web/prompts_controller.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from babel import Locale

from commands._common import load
from commands._lazy import read_or_none
from commands._prompt_config import read_config
from commands.application import ChatAssistApp
from commands.chat_turn.service import ChatService
from domain.account import Account
from domain.app_settings import LANGUAGES, AppSettings, app_settings_id
from domain.decisions.money import default_rates
from domain.errors import NotFound
from domain.pricing import PRICES
from domain.prompt_config import Draft, PromptConfig, PromptVersion
from domain.prompt_content import PromptContent
from web.pages.prompt_forms import topic_lines
from web.prompts_controller import history_view, times

MODELS = tuple(PRICES)
KIND_LABELS = {"initial": "Original prompt", "published": "Published", "rollback": "Rollback"}


@dataclass(frozen=True)
class Entry:
    """A row of the history: a version with who made it live, when and why."""

    version: int
    kind: str
    by: str
    at: datetime | None
    note: str
    changed_fields: list[str]
    restored_version: int | None
    approved_by: str | None
    live: bool


@dataclass
class Studio:
    """Everything the studio's page shows."""

    config: PromptConfig
    live_at: datetime | None
    live_by: str
    history: list[Entry]
    drafts: list[Draft]
    draft: Draft | None
    missing_draft: str | None
    approval_required: bool
    names: dict[UUID, str] = field(default_factory=dict)

    @property
    def live(self) -> PromptVersion:
        """The version in force."""
        return self.config.live

    @property
    def content(self) -> PromptContent:
        """What the editor shows: the draft being edited, else the live version."""
        return self.draft.content if self.draft else self.config.live.content

    def name(self, account_id: UUID | None) -> str:
        """A person's name ("someone who left" for an account that no longer exists)."""
        return "—" if account_id is None else self.names.get(account_id, "a former member")

    def values(self) -> dict[str, Any]:
        """The editor's fields as the forms show them."""
        return form_values(self.content)


def form_values(content: PromptContent) -> dict[str, Any]:
    """A content as the editor's form fields."""
    esc, persona = content.escalation, content.persona
    thresholds, keywords = esc["thresholds"], esc["keywords"]
    return {
        "system_prompt": content.system_prompt,
        "examples": content.examples,
        "topic_rules": topic_lines(content.topic_rules),
        "low_confidence": _percent(thresholds["low_confidence"]),
        "max_ai_replies": thresholds["max_ai_replies"],
        "refund_over": _plain(thresholds["refund_over"]),
        "currency": esc.get("currency", "USD"),
        "legal_keywords": ", ".join(keywords.get("legal", [])),
        "human_keywords": ", ".join(keywords.get("human_request", [])),
        "compliance_questions": esc.get("compliance_questions", "answer"),
        "tone": persona["tone"],
        "language": persona["language"],
        "max_response_words": persona["max_response_words"],
        "max_response_tokens": persona["max_response_tokens"],
        "escalation_threshold": _percent(persona["escalation_threshold"]),
        "primary_model": persona["primary_model"],
        "fallback_model": persona["fallback_model"],
    }


def _percent(value: float) -> str:
    return _plain(round(value * 100, 2))


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def currencies(content: PromptContent) -> list[str]:
    """The currencies a refund threshold may be in: those with a built-in rate and the workspace's own rates."""
    return sorted(set(default_rates().usd_per_unit) | set(content.escalation.get("rates", {})))


def languages() -> list[tuple[str, str]]:
    """The persona's language choices with their English names."""
    names = Locale.parse("en").languages
    return [("auto", "The customer's language")] + [(code, names.get(code, code)) for code in LANGUAGES]


def _names(app: ChatAssistApp, ids: set[UUID]) -> dict[UUID, str]:
    out = {}
    for account_id in ids:
        try:
            out[account_id] = load(app, account_id, Account, "account", read_only=True).name
        except NotFound:
            continue
    return out


def _at(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def read_studio(chat: ChatService, workspace_id: UUID, draft_id: str | None) -> Studio:
    """The studio of a workspace, with ``draft_id`` open in the editor when it is still a draft."""
    config = read_config(chat.app, workspace_id)
    at = times(chat, workspace_id)
    settings = read_or_none(chat.app, app_settings_id(workspace_id), AppSettings)
    people: set[UUID] = set()
    for v in config.versions.values():
        people |= {p for p in (v.by, v.approved_by) if p}
    for d in config.drafts.values():
        people |= {d.by, *d.editors, *([d.reviewed_by] if d.reviewed_by else [])}
    names = _names(chat.app, people)
    history = [
        Entry(
            h.version,
            h.kind,
            names.get(UUID(h.by), "a former member") if h.by else "—",
            _at(h.at),
            h.note,
            h.changed_fields,
            h.restored_version,
            names.get(UUID(h.approved_by), "a former member") if h.approved_by else None,
            h.version == config.live_version,
        )
        for h in reversed(history_view(config, at).versions)
    ]
    draft = config.drafts.get(draft_id) if draft_id else None
    live = config.live
    return Studio(
        config=config,
        live_at=_at(at.get(config.live_version)),
        live_by=names.get(live.by, "a former member") if live.by else "",
        history=history,
        drafts=list(config.drafts.values()),
        draft=draft,
        missing_draft=draft_id if draft_id and draft is None else None,
        approval_required=bool(settings and settings.values.prompt_approval_required),
        names=names,
    )
