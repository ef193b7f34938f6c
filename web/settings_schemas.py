"""Request and response bodies (msgspec Structs) of /api/settings. Settings changes are a JSON object of any
subset of the names in ``SettingsView`` (except ``storage_used_bytes``), validated by the command."""

from __future__ import annotations

from typing import Annotated

import msgspec

ApiKey = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class SettingsView(msgspec.Struct):
    """The app settings, the chat settings and the storage the workspace's events use."""

    widget_language: str
    widget_theme_colour: str
    business_hours: dict[str, list[str] | None]
    time_zone: str
    holidays: list[str]
    analytics_retention_days: int
    personal_data_retention_days: int
    show_ai_badge: bool
    collect_csat: bool
    after_hours_auto_response: bool
    after_hours_message: str
    prompt_approval_required: bool
    quick_replies: list[str]
    primary_model: str
    fallback_model: str
    budget_model: str
    max_history_turns: int
    max_response_tokens: int
    monthly_token_budget: int
    over_budget: str
    fallback_enabled: bool
    retry_enabled: bool
    storage_used_bytes: int


class KeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A provider API key; it is stored encrypted and never shown again."""

    api_key: ApiKey

    def __repr__(self) -> str:
        return "KeyRequest(api_key=<hidden>)"


class KeyStatus(msgspec.Struct):
    """What may be shown about a provider's key. ``source``: workspace, environment or none. ``status``:
    untested, ok, failed (of the workspace key's last test), environment or none."""

    provider: str
    configured: bool
    source: str
    masked: str | None
    status: str
    last_tested: str | None
    detail: str | None


class KeysResponse(msgspec.Struct):
    """One entry per provider, and whether this deployment can store keys."""

    keys: dict[str, KeyStatus]
    storage_configured: bool


class KeyTestResponse(msgspec.Struct):
    """The outcome of a test call, as recorded."""

    provider: str
    ok: bool
    detail: str
