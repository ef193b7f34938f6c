"""ChangeSettings: any subset of the app settings and the chat settings, all validated before anything is saved.

App settings change the workspace's AppSettings aggregate (``Changed``); chat settings change the Workspace
(``SettingsChanged``, what the chat turn reads) and are also recorded with their actor on AppSettings
(``ChatSettingsChanged``). Both aggregates are saved in one transaction, or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands._common import load
from commands._lazy import get_or_none, save_with_retries
from commands.ai.models import provider_for
from commands.application import ChatAssistApp
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.errors import InvalidInput
from domain.workspace import Workspace

CHAT_FIELDS = (
    "primary_model",
    "fallback_model",
    "budget_model",
    "max_history_turns",
    "max_response_tokens",
    "monthly_token_budget",
    "over_budget",
    "fallback_enabled",
    "retry_enabled",
)
MODEL_FIELDS = ("primary_model", "fallback_model", "budget_model")


@dataclass(frozen=True)
class ChangeSettings:
    """Set some settings of the workspace; the others keep their values."""

    workspace_id: UUID
    by: UUID
    changes: dict[str, Any]


def split(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(app changes, chat changes); an unknown name is 422 ``unknown_setting``, a bad model 422 ``unknown_model``."""
    app_names = AppSettingsValues.names()
    unknown = sorted(k for k in changes if k not in app_names and k not in CHAT_FIELDS)
    if unknown:
        known = ", ".join(sorted([*app_names, *CHAT_FIELDS]))
        raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)[:200]}. Known: {known}.", code="unknown_setting")
    for name in MODEL_FIELDS:
        if name in changes:
            model = changes[name]
            if not isinstance(model, str) or len(model) > 100 or provider_for(model) is None:
                raise InvalidInput(
                    f"{name}: {str(model)[:100]!r} is not a model we can route; use a claude-… or gpt-… model name "
                    "(or offline-retrieval).",
                    code="unknown_model",
                )
    return (
        {k: v for k, v in changes.items() if k in app_names},
        {k: v for k, v in changes.items() if k in CHAT_FIELDS},
    )


def chat_settings(workspace: Workspace, changes: dict[str, Any]) -> dict[str, Any]:
    """The workspace's chat settings with ``changes``; a number out of its range is 422 ``out_of_range``."""
    try:
        return workspace.settings.with_changes(changes).to_dict()
    except InvalidInput as err:
        if err.code == "invalid_input" and "whole number from" in err.message:
            raise InvalidInput(err.message, code="out_of_range") from None
        raise


def execute(app: ChatAssistApp, cmd: ChangeSettings) -> tuple[Workspace, AppSettingsValues]:
    """Validate everything, then save every change in one transaction; returns the settings now in force."""
    app_changes, chat_changes = split(cmd.changes)
    result: list[Any] = []

    def attempt() -> list[Aggregate]:
        workspace = load(app, cmd.workspace_id, Workspace, "workspace")
        settings = get_or_none(app, app_settings_id(cmd.workspace_id), AppSettings)
        fresh = settings or AppSettings(cmd.workspace_id)
        app_diff = fresh.diff(app_changes)  # validates, changes nothing
        new_chat = chat_settings(workspace, chat_changes)  # validates, changes nothing
        chat_diff = {k: new_chat[k] for k in chat_changes if workspace.settings_data.get(k) != new_chat[k]}
        # everything is valid: now record it
        fresh.change(app_diff, cmd.by)
        if chat_diff:
            workspace.change_settings(chat_diff)
            fresh.record_chat_change(chat_diff, cmd.by)
        result[:] = [workspace, fresh.values]
        to_save: list[Aggregate] = []
        if chat_diff:
            to_save.append(workspace)
        if app_diff or chat_diff:
            to_save.append(fresh)
        return to_save

    save_with_retries(app, "settings", attempt)
    return result[0], result[1]
