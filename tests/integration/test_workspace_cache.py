"""The chat path caches a workspace and its monthly usage for a short, bounded time."""

from __future__ import annotations

import asyncio
import time

from chatassist.bootstrap import Container
from commands.ai.orchestrator import RetryPolicy
from commands.change_workspace_settings.cmd import ChangeWorkspaceSettings
from commands.change_workspace_settings.cmd import execute as change_settings
from commands.chat_turn.service import ChatService, Providers
from commands.create_workspace.cmd import WorkspaceCreated


def test_a_settings_change_applies_once_the_cache_expires(container: Container, workspace: WorkspaceCreated) -> None:
    # Given a chat service caching workspaces for 0.3 s, which has just read the workspace
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0.3)
    before = asyncio.run(chat.workspace(workspace.widget_key))
    read_at = time.monotonic()
    # When an admin changes a setting
    change_settings(container.app, ChangeWorkspaceSettings(workspace.workspace_id, {"max_history_turns": 3}))
    # I expect the cached copy until the TTL passes, then the new settings
    if time.monotonic() - read_at < 0.25:
        assert asyncio.run(chat.workspace(workspace.widget_key)).version == before.version
    deadline = time.monotonic() + 5
    while asyncio.run(chat.workspace(workspace.widget_key)).settings.max_history_turns != 3:
        assert time.monotonic() < deadline, "the settings change never became visible"
        time.sleep(0.05)
    assert time.monotonic() - read_at >= 0.3


def test_without_a_ttl_every_turn_reads_the_latest_settings(container: Container, workspace: WorkspaceCreated) -> None:
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0)
    asyncio.run(chat.workspace(workspace.widget_key))
    change_settings(container.app, ChangeWorkspaceSettings(workspace.workspace_id, {"max_history_turns": 4}))
    assert asyncio.run(chat.workspace(workspace.widget_key)).settings.max_history_turns == 4
