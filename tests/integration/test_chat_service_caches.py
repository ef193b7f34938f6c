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
from commands.receive_message.cmd import EndUser


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


async def _turn(chat: ChatService, key: str, conversation_id: object, text: str) -> list[object]:
    workspace = await chat.workspace(key)
    begun = await chat.begin(workspace, conversation_id, EndUser("visitor-9"), text)  # type: ignore[arg-type]
    return [event async for event in chat.answer(begun)]


def test_two_processes_alternating_on_one_conversation_never_lose_a_turn(
    container: Container, workspace: WorkspaceCreated
) -> None:
    # Given two chat services, as two web processes, each keeping the conversations it last saved
    first = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0)
    second = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0)
    started = asyncio.run(_turn(first, workspace.widget_key, None, "How do I reset my password?"))
    conversation_id = started[0].conversation_id  # type: ignore[attr-defined]
    # When the visitor's turns land on alternating processes, each holding a stale copy
    for i, chat in enumerate([second, first, second, first]):
        events = asyncio.run(_turn(chat, workspace.widget_key, conversation_id, f"follow-up {i}"))
        assert type(events[-1]).__name__ == "TurnDone"
    # I expect every message and reply stored once, in order
    conversation = container.app.repository.get(conversation_id)
    assert [t.text for t in conversation.turns if t.role == "user"] == [
        "How do I reset my password?",
        "follow-up 0",
        "follow-up 1",
        "follow-up 2",
        "follow-up 3",
    ]
    assert [t.role for t in conversation.turns] == ["user", "assistant"] * 5
