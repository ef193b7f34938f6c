"""The chat turn's model call starts while the visitor message's save commits (ADR 0069): ``start`` still means the
message is saved, the reply is saved after it, and a save that fails ends the turn before ``start``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from chatassist.bootstrap import Container
from commands.ai.base import TextDelta
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, TurnDone, TurnStarted
from commands.create_workspace.cmd import WorkspaceCreated
from commands.receive_message import cmd as receive
from commands.receive_message.cmd import EndUser
from tests.fakes.llm_server import FakeLLMServer, Script


def gate(monkeypatch: pytest.MonkeyPatch, then: Callable[..., Any]) -> threading.Event:
    """Hold every message save until the returned event is set, then run ``then`` in its place."""
    release = threading.Event()

    def held(app: Any, decided: receive.Decided, checked: Any = None) -> receive.MessageReceived:
        assert release.wait(10), "the test never released the save"
        result: receive.MessageReceived = then(app, decided, checked)
        return result

    monkeypatch.setattr(receive, "commit", held)
    return release


async def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


def test_the_model_is_asked_while_the_message_is_saved_and_start_waits_for_the_save(
    container: Container, workspace: WorkspaceCreated, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message save that does not finish until the test says so
    release = gate(monkeypatch, receive.commit)
    fake_llm.enqueue("anthropic", Script(text="Open Settings, then Security.", chunks=3))
    chat = ChatService(container.app, container.chat.providers, container.usage, RetryPolicy(), cache_ttl_s=0)

    async def scenario() -> list[object]:
        ws = await chat.workspace(workspace.widget_key)
        begun = await chat.begin(ws, None, EndUser("visitor-p1"), "How do I turn on 2FA?")
        events: list[object] = []

        async def read() -> None:
            async for event in chat.answer(begun):
                events.append(event)

        task = asyncio.create_task(read())
        # When the turn runs while the save is held
        await wait_for(lambda: len(fake_llm.requests_for("anthropic")) == 1, "the model was not asked before the save")
        await asyncio.sleep(0.1)
        # I expect the model asked, and nothing told to the visitor: not even `start`
        assert events == []
        assert not begun.commit.done()
        release.set()
        await task
        return events

    events = asyncio.run(scenario())
    # and once the message is saved: start, the answer, done; message then reply in the store
    assert isinstance(events[0], TurnStarted) and isinstance(events[-1], TurnDone)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Open Settings, then Security."
    conversation: Any = container.app.repository.get(events[0].conversation_id)
    assert [(t.role, t.text) for t in conversation.turns] == [
        ("user", "How do I turn on 2FA?"),
        ("assistant", "Open Settings, then Security."),
    ]


def test_a_message_whose_save_fails_ends_the_turn_before_start_and_records_nothing(
    container: Container, workspace: WorkspaceCreated, fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message save that fails (the database went away) after the model was asked
    def fail(app: Any, decided: receive.Decided, checked: Any = None) -> receive.MessageReceived:
        raise RuntimeError("the database went away")

    release = gate(monkeypatch, fail)
    fake_llm.enqueue("anthropic", Script(text="An answer nobody will see.", chunks=3, chunk_delay_s=0.05))
    chat = ChatService(container.app, container.chat.providers, container.usage, RetryPolicy(), cache_ttl_s=0)

    async def scenario() -> tuple[list[object], BaseException | None, Any]:
        ws = await chat.workspace(workspace.widget_key)
        begun = await chat.begin(ws, None, EndUser("visitor-p2"), "How do I export invoices?")
        events: list[object] = []
        failure: BaseException | None = None

        async def read() -> None:
            nonlocal failure
            try:
                async for event in chat.answer(begun):
                    events.append(event)
            except RuntimeError as exc:
                failure = exc

        task = asyncio.create_task(read())
        await wait_for(lambda: len(fake_llm.requests_for("anthropic")) == 1, "the model was not asked")
        # When the save fails
        release.set()
        await task
        return events, failure, begun.received.conversation_id

    events, failure, conversation_id = asyncio.run(scenario())
    # I expect the save's error, no event at all (not even `start`), and nothing stored of the conversation
    assert str(failure) == "the database went away"
    assert events == []
    assert container.app.recorder.select_events(conversation_id) == []
