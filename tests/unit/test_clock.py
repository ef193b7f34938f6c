"""domain/clock.py: an aggregate's events take the pinned instant, and the current time otherwise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.clock import events_at
from domain.conversation import Conversation


def test_events_triggered_inside_the_block_carry_the_pinned_instant() -> None:
    # Given an instant weeks ago, in another offset
    then = datetime(2026, 10, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    # When a conversation starts and receives a message inside events_at, and a second message after it
    with events_at(then):
        conversation = Conversation(uuid.uuid4(), "widget", {"user_id": "v"})
        conversation.receive("m1", "hello")
    before = datetime.now(UTC)
    conversation.receive("m2", "still there?")
    started, first, second = conversation.collect_events()
    # I expect the first two stamped with that instant (in UTC), the last with the current time
    assert started.timestamp == first.timestamp == then.astimezone(UTC)
    assert started.timestamp.tzinfo == UTC and conversation.created_on == then
    assert second.timestamp >= before


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"), events_at(datetime(2026, 10, 1)):
        pass
