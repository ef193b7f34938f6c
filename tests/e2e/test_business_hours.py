"""Business hours on the real server, with the turn's clock pinned: an escalation inside hours gets the holding
message; after hours the after-hours auto-response says when a person will answer, Escalated records it, and the
chat still queues."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands.chat_turn.service import ChatService
from domain.conversation import Conversation
from domain.escalation import DEFAULT_HOLDING, DEFAULT_HOLDING_BY_RULE, P1
from tests.conftest import chat, stored_events
from tests.fakes.llm_server import FakeLLMServer
from tests.support.accounts import Person, sign_up
from tests.support.server import ThreadedServer
from web.app import create_app

BERLIN = ZoneInfo("Europe/Berlin")
AWAY = "Thanks for your message! Our team is away right now."


class Clock:
    """The instant the chat turn takes as now."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def hours_client(container: Container, clock: Clock) -> Iterator[httpx.Client]:
    """The real app whose chat turns read ``clock``."""
    chat_service = ChatService(
        container.app, container.chat.providers, container.usage, container.chat.policy, cache_ttl_s=0, clock=clock
    )
    app = create_app(chat_service, container.transcripts, ready_checks(container), auth=container.auth)
    server = ThreadedServer(app).start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client
    server.stop()


def berlin_workspace(client: httpx.Client, **changes: Any) -> tuple[Person, str]:
    """A new workspace open Mon-Fri 09:00-17:00 in Berlin, with the after-hours auto-response on; its widget key."""
    admin, body = sign_up(client, workspace="Berlin GmbH")
    settings = {"time_zone": "Europe/Berlin", "after_hours_auto_response": True, "after_hours_message": AWAY}
    response = client.patch("/api/settings", json={**settings, **changes}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return admin, body["widget_key"]


def text_of(events: list[tuple[str, Any]]) -> str:
    return "".join(d["text"] for n, d in events if n == "delta")


def test_inside_hours_an_escalation_gets_the_usual_holding_message(
    hours_client: httpx.Client, clock: Clock, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a workspace open on weekdays in Berlin, and it is Tuesday 10:00 there
    _, key = berlin_workspace(hours_client)
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
    # When a visitor asks for a person
    events = chat(hours_client, key, "Can I talk to a human please?")
    # Then the usual holding message streams, and Escalated says it came inside hours
    done = events[-1][1]
    assert fake_llm.requests == []
    assert text_of(events) == done["escalation"]["message"] == DEFAULT_HOLDING
    assert (done["escalation"]["after_hours"], done["escalation"]["next_open_at"]) == (False, None)
    escalated = stored_events(container, events[0][1]["conversation_id"])[2]
    assert type(escalated).__name__ == "Escalated"
    assert (escalated.after_hours, escalated.next_open_at) == (False, None)


def test_after_hours_the_visitor_is_told_when_a_person_will_answer_and_the_chat_queues(
    hours_client: httpx.Client, clock: Clock, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given the same hours, and it is Friday 19:30 in Berlin
    _, key = berlin_workspace(hours_client)
    clock.now = datetime(2026, 12, 4, 19, 30, tzinfo=BERLIN)
    # When a visitor asks for a person
    events = chat(hours_client, key, "can i speak to a real person?")
    # Then the after-hours auto-response names Monday 09:00 in the workspace's zone
    expected = f"{AWAY} A person from our team will answer from Monday 09:00 (Europe/Berlin)."
    done = events[-1][1]
    assert fake_llm.requests == []
    assert text_of(events) == done["escalation"]["message"] == expected
    assert done["escalation"]["after_hours"] is True
    assert done["escalation"]["next_open_at"] == "2026-12-07T08:00:00+00:00"
    # and Escalated records it, the holding reply is that text, and the chat waits in the queue
    conversation_id = events[0][1]["conversation_id"]
    escalated, summarized, reply = stored_events(container, conversation_id)[2:5]
    assert type(summarized).__name__ == "HandoffSummarized"  # the handoff summary, in the same save
    assert (escalated.rule, escalated.after_hours, escalated.next_open_at) == (
        "human_requested",
        True,
        "2026-12-07T08:00:00+00:00",
    )
    assert escalated.holding_message == reply.personal["text"] == expected
    conversation = container.app.repository.get(escalated.originator_id)
    assert isinstance(conversation, Conversation) and conversation.state == "queued"


def test_a_legal_escalation_before_a_holiday_names_the_day_after_it(
    hours_client: httpx.Client, clock: Clock, container: Container
) -> None:
    # Given Monday 7 December is a holiday and the message names the next opening with a placeholder
    message = "We are closed until {next_open}; your conversation is saved."
    _, key = berlin_workspace(hours_client, holidays=["2026-12-07"], after_hours_message=message)
    clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=BERLIN)  # Saturday
    # When a visitor threatens legal action
    events = chat(hours_client, key, "I'm going to take you to court over this")
    # Then P1 escalates with the after-hours text, naming Tuesday
    done = events[-1][1]
    assert done["escalation"]["rule"] == P1
    assert text_of(events) == "We are closed until Tuesday 09:00 (Europe/Berlin); your conversation is saved."
    escalated = stored_events(container, events[0][1]["conversation_id"])[2]
    assert escalated.next_open_at == "2026-12-08T08:00:00+00:00" and escalated.route == "legal"


def test_with_the_auto_response_off_after_hours_is_recorded_but_the_holding_message_stays(
    hours_client: httpx.Client, clock: Clock, container: Container
) -> None:
    _, key = berlin_workspace(hours_client, after_hours_auto_response=False)
    clock.now = datetime(2026, 12, 6, 12, 0, tzinfo=BERLIN)  # Sunday noon
    events = chat(hours_client, key, "my lawyer will be in touch")
    assert text_of(events) == DEFAULT_HOLDING_BY_RULE[P1]
    escalated = stored_events(container, events[0][1]["conversation_id"])[2]
    assert (escalated.after_hours, escalated.next_open_at) == (True, "2026-12-07T08:00:00+00:00")


def test_holidays_are_a_setting_with_a_clear_error(hours_client: httpx.Client) -> None:
    admin, _ = sign_up(hours_client, workspace="Holidays")
    bad = hours_client.patch("/api/settings", json={"holidays": ["2026-13-01"]}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_holidays"
    assert "YYYY-MM-DD" in bad.json()["message"]
    body = hours_client.get("/api/settings", headers=admin.headers).json()
    assert body["holidays"] == []
    night = {**body["business_hours"], "fri": ["22:00", "06:00"]}
    ok = hours_client.patch(
        "/api/settings", json={"business_hours": night, "holidays": ["2026-12-24"]}, headers=admin.headers
    )
    assert ok.status_code == 200 and ok.json()["business_hours"]["fri"] == ["22:00", "06:00"]
    assert ok.json()["holidays"] == ["2026-12-24"]
