"""The Workspace aggregate: the tenant, its widget key and the settings a chat turn needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

OVER_BUDGET_ACTIONS = ("refuse", "cheaper_model")
DEFAULT_PRIMARY_MODEL = "claude-sonnet-4-6"
DEFAULT_FALLBACK_MODEL = "gpt-4o-mini"
DEFAULT_BUDGET_MODEL = "claude-haiku-4-5"
DEFAULT_SYSTEM_PROMPT = (
    "You are the support assistant of {workspace}. Answer the customer's question clearly and briefly, "
    "using the help articles you are given. If you are not sure, say so and offer to bring in a person. "
    "Never invent prices, refunds or legal commitments."
)


@dataclass(frozen=True)
class WorkspaceSettings:
    """What a chat turn needs to know about its workspace. Validated on construction."""

    primary_model: str = DEFAULT_PRIMARY_MODEL
    fallback_model: str = DEFAULT_FALLBACK_MODEL
    max_response_tokens: int = 1024
    max_history_turns: int = 10
    monthly_token_budget: int = 100_000
    over_budget: str = "refuse"
    budget_model: str = DEFAULT_BUDGET_MODEL
    system_prompt: str = DEFAULT_SYSTEM_PROMPT

    def __post_init__(self) -> None:
        check_range("max_response_tokens", self.max_response_tokens, 16, 8192)
        check_range("max_history_turns", self.max_history_turns, 0, 50)
        check_range("monthly_token_budget", self.monthly_token_budget, 0, 10**12)
        if self.over_budget not in OVER_BUDGET_ACTIONS:
            raise InvalidInput(f"over_budget must be one of {', '.join(OVER_BUDGET_ACTIONS)}.")
        for name in ("primary_model", "fallback_model", "budget_model", "system_prompt"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"{name} must be a non-empty string.")
        if len(self.system_prompt) > 20_000:
            raise InvalidInput("system_prompt must be at most 20,000 characters.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkspaceSettings:
        """Build from stored or submitted values; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**data)

    def with_changes(self, changes: dict[str, Any]) -> WorkspaceSettings:
        """A validated copy with ``changes`` applied."""
        merged = {**asdict(self), **changes}
        return WorkspaceSettings.from_dict(merged)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in events."""
        return asdict(self)


def check_range(name: str, value: object, low: int, high: int) -> None:
    """Raise InvalidInput unless ``value`` is an int in [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.")


@dataclass(frozen=True)
class Snippet:
    """A help-centre article or canned answer the assistant may draw on."""

    id: str
    title: str
    text: str
    keywords: tuple[str, ...] = field(default=())


class Workspace(Aggregate):
    """A tenant. Its id scopes every conversation; its widget key is public."""

    @event("Created")
    def __init__(
        self,
        name: str,
        widget_key: str,
        settings: dict[str, Any],
        knowledge: list[dict[str, Any]],
        examples: list[dict[str, str]],
    ) -> None:
        self.name = name
        self.widget_key = widget_key
        self.settings_data = settings
        self.knowledge = knowledge
        self.examples = examples
        self.prompt_version = 1

    @property
    def settings(self) -> WorkspaceSettings:
        """The current validated settings."""
        return WorkspaceSettings.from_dict(self.settings_data)

    def snippets(self) -> list[Snippet]:
        """The knowledge base as value objects."""
        return [Snippet(k["id"], k["title"], k["text"], tuple(k.get("keywords", ()))) for k in self.knowledge]

    def change_settings(self, changes: dict[str, Any]) -> None:
        """Apply validated setting changes; a no-op change records nothing."""
        new = self.settings.with_changes(changes).to_dict()
        diff = {k: v for k, v in new.items() if self.settings_data.get(k) != v}
        if diff:
            prompt_changed = "system_prompt" in diff
            self._settings_changed(changes=diff, prompt_changed=prompt_changed)

    @event("SettingsChanged")
    def _settings_changed(self, changes: dict[str, Any], prompt_changed: bool) -> None:
        self.settings_data = {**self.settings_data, **changes}
        if prompt_changed:
            self.prompt_version += 1

    @event("KnowledgeReplaced")
    def replace_knowledge(self, knowledge: list[dict[str, Any]], examples: list[dict[str, str]]) -> None:
        """Swap the knowledge base and few-shot examples used by the assistant."""
        self.knowledge = knowledge
        self.examples = examples
        self.prompt_version += 1


_WIDGET_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/widget-key")


def widget_index_id(widget_key: str) -> UUID:
    """Deterministic id of the index aggregate that maps a widget key to its workspace."""
    return uuid5(_WIDGET_NS, widget_key)


class WidgetKeyIndex(Aggregate):
    """Maps a public widget key to its workspace without a read model (no projection lag)."""

    @staticmethod
    def create_id(widget_key: str, workspace_id: UUID) -> UUID:
        """Id derived from the key, so a lookup is one read by id."""
        return widget_index_id(widget_key)

    @event("Registered")
    def __init__(self, widget_key: str, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
