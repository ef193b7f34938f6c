"""/api/settings: the workspace's app and chat settings, and its provider API keys."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Controller, delete, get, patch, post, put

from commands._common import load
from commands._lazy import read_or_none
from commands.change_app_settings import cmd as change_settings
from commands.chat_turn.service import ChatService
from commands.provider_keys.vault import KeyVault
from commands.remove_provider_key import cmd as remove_key
from commands.set_provider_key import cmd as set_key
from commands.test_provider_key import cmd as test_key
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.errors import InvalidInput
from domain.prompt_config import prompt_config_id
from domain.provider_keys import PROVIDERS, check_provider, keyring_id, masked
from domain.workspace import Workspace
from read_api.get_storage_used.query import storage_used
from read_api.get_transcript.query import TranscriptSource
from web.auth import Member
from web.guards import GUARDS
from web.settings_schemas import KeyRequest, KeysResponse, KeyStatus, KeyTestResponse, SettingsView

log = logging.getLogger("chatassist.web.settings")
MAX_CHANGES = 32


def settings_view(chat: ChatService, transcripts: TranscriptSource, workspace_id: UUID) -> SettingsView:
    """Current settings (defaults where never changed) and storage used."""
    workspace = load(chat.app, workspace_id, Workspace, "workspace", read_only=True)
    stored = read_or_none(chat.app, app_settings_id(workspace_id), AppSettings)
    return view_of(workspace, stored.values if stored else AppSettingsValues(), chat, transcripts)


def view_of(
    workspace: Workspace, values: AppSettingsValues, chat: ChatService, transcripts: TranscriptSource
) -> SettingsView:
    """The response body for these settings."""
    s = workspace.settings
    own = [app_settings_id(workspace.id), keyring_id(workspace.id), prompt_config_id(workspace.id)]
    used = storage_used(transcripts, workspace.id, own)
    return SettingsView(
        **values.to_dict(),
        primary_model=s.primary_model,
        fallback_model=s.fallback_model,
        budget_model=s.budget_model,
        max_history_turns=s.max_history_turns,
        max_response_tokens=s.max_response_tokens,
        monthly_token_budget=s.monthly_token_budget,
        over_budget=s.over_budget,
        fallback_enabled=s.fallback_enabled,
        retry_enabled=s.retry_enabled,
        storage_used_bytes=used,
    )


def vault_of(chat: ChatService) -> KeyVault:
    """The key vault of the chat service (every wired app has one; a bare test app gets a keyless one)."""
    if chat.providers.vault is None:
        chat.providers.vault = KeyVault(chat.app, None)
    return chat.providers.vault


def key_statuses(chat: ChatService, workspace_id: UUID) -> KeysResponse:
    """Per provider: configured, source, masked display, status of the last test."""
    vault = vault_of(chat)
    keyring = vault.keyring(workspace_id)
    out: dict[str, KeyStatus] = {}
    for provider in PROVIDERS:
        stored = keyring.keys.get(provider) if keyring else None
        if stored is not None:
            status = "untested" if stored.test_ok is None else ("ok" if stored.test_ok else "failed")
            tested = stored.tested_at.isoformat() if stored.tested_at else None
            out[provider] = KeyStatus(
                provider, True, "workspace", masked(provider, stored.last4), status, tested, stored.test_detail
            )
        elif provider in chat.providers.by_name:
            out[provider] = KeyStatus(provider, True, "environment", None, "environment", None, None)
        else:
            out[provider] = KeyStatus(provider, False, "none", None, "none", None, None)
    return KeysResponse(out, vault.cipher is not None)


class SettingsController(Controller):
    """Members read the settings; admins change them and manage the provider keys."""

    path = "/api/settings"
    tags = ["settings"]

    @get("/", operation_id="getSettings", guards=[GUARDS["settings.read"]], summary="App and chat settings")
    async def get_settings(
        self, chat: ChatService, transcripts: TranscriptSource, current_member: Member
    ) -> SettingsView:
        """Every setting of the caller's workspace and the bytes its events use."""
        return await anyio.to_thread.run_sync(settings_view, chat, transcripts, current_member.workspace_id)

    @patch("/", operation_id="changeSettings", guards=[GUARDS["settings.manage"]], summary="Change settings")
    async def change(
        self, data: dict[str, Any], chat: ChatService, transcripts: TranscriptSource, current_member: Member
    ) -> SettingsView:
        """Any subset of the settings; all are validated before any is saved (422 with a code otherwise)."""
        if not isinstance(data, dict) or not data:
            raise InvalidInput("Send a JSON object with at least one setting to change.", code="no_changes")
        if len(data) > MAX_CHANGES:
            raise InvalidInput(f"Send at most {MAX_CHANGES} settings at once.", code="too_many_changes")
        command = change_settings.ChangeSettings(current_member.workspace_id, current_member.account_id, data)

        def run() -> SettingsView:
            workspace, values = change_settings.execute(chat.app, command)
            return view_of(workspace, values, chat, transcripts)

        return await anyio.to_thread.run_sync(run)

    @get("/keys", operation_id="listProviderKeys", guards=[GUARDS["keys.manage"]], summary="Provider keys, masked")
    async def list_keys(self, chat: ChatService, current_member: Member) -> KeysResponse:
        """Which provider keys serve the workspace, masked, with the last test's outcome."""
        return await anyio.to_thread.run_sync(key_statuses, chat, current_member.workspace_id)

    @put("/keys/{provider:str}", operation_id="setProviderKey", guards=[GUARDS["keys.manage"]])
    async def set_key(self, provider: str, data: KeyRequest, chat: ChatService, current_member: Member) -> KeyStatus:
        """Store the workspace's own key for ``provider`` (anthropic or openai), encrypted."""
        check_provider(provider)
        command = set_key.SetProviderKey(current_member.workspace_id, current_member.account_id, provider, data.api_key)
        await anyio.to_thread.run_sync(set_key.execute, vault_of(chat), command)
        statuses = await anyio.to_thread.run_sync(key_statuses, chat, current_member.workspace_id)
        return statuses.keys[provider]

    @delete("/keys/{provider:str}", operation_id="removeProviderKey", guards=[GUARDS["keys.manage"]])
    async def remove_key(self, provider: str, chat: ChatService, current_member: Member) -> None:
        """Forget the workspace's key; the environment key, if any, serves the workspace again."""
        command = remove_key.RemoveProviderKey(current_member.workspace_id, current_member.account_id, provider)
        await anyio.to_thread.run_sync(remove_key.execute, chat.app, command)

    @post("/keys/{provider:str}/test", operation_id="testProviderKey", status_code=200, guards=[GUARDS["keys.manage"]])
    async def test_key(self, provider: str, chat: ChatService, current_member: Member) -> KeyTestResponse:
        """One cheap real call (list models) with the stored key; the outcome is recorded (KeyTested)."""
        command = test_key.TestProviderKey(current_member.workspace_id, current_member.account_id, provider)
        result = await test_key.execute(vault_of(chat), chat.providers.endpoints, command)
        return KeyTestResponse(provider, result.ok, result.detail)
