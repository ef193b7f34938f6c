"""Business hours (domain/business_hours.py): open or not at an instant, and the next opening, across DST changes,
overnight spans, closed days and holidays."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commands.application import ChatAssistApp
from domain.app_settings import AppSettingsValues, default_hours
from domain.business_hours import Opening, after_hours_message, apply_hours, describe, opening
from domain.conversation import Conversation
from domain.escalation import HUMAN, decide

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def local(zone: str, *parts: int) -> datetime:
    """An aware instant given as wall-clock time in ``zone`` (first occurrence when ambiguous)."""
    return datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_weekday_hours_in_the_workspace_zone_not_utc() -> None:
    # Given Mon-Fri 09:00-17:00 in Berlin (UTC+1 in winter)
    hours = default_hours()
    # When it is 08:30 UTC on Tuesday 1 December 2026, 09:30 in Berlin: open
    assert opening(hours, BERLIN, [], utc(2026, 12, 1, 8, 30)).open is True
    # and 16:30 UTC is 17:30 in Berlin: closed, next opening Wednesday 09:00 Berlin = 08:00 UTC
    closed = opening(hours, BERLIN, [], utc(2026, 12, 1, 16, 30))
    assert closed.open is False and closed.next_open_at == utc(2026, 12, 2, 8, 0)
    # the closing minute itself is closed, the opening minute open
    assert opening(hours, BERLIN, [], local(BERLIN, 2026, 12, 1, 17, 0)).open is False
    assert opening(hours, BERLIN, [], local(BERLIN, 2026, 12, 1, 9, 0)).open is True


def test_the_weekend_is_closed_until_monday_morning() -> None:
    saturday = opening(default_hours(), BERLIN, [], local(BERLIN, 2026, 12, 5, 11, 0))
    assert saturday.open is False and saturday.next_open_at == local(BERLIN, 2026, 12, 7, 9, 0)
    friday_night = opening(default_hours(), BERLIN, [], local(BERLIN, 2026, 12, 4, 23, 59))
    assert friday_night.next_open_at == saturday.next_open_at


def test_across_the_spring_forward_change_the_next_opening_is_nine_local_time() -> None:
    # Given Berlin moves from UTC+1 to UTC+2 at 02:00 on Sunday 29 March 2026
    hours = default_hours()
    # When it is Saturday evening (UTC+1)
    before = opening(hours, BERLIN, [], utc(2026, 3, 28, 20, 0))
    # Then Monday 09:00 is 07:00 UTC, not 08:00
    assert before.next_open_at == utc(2026, 3, 30, 7, 0)
    assert describe(before.next_open_at, BERLIN, utc(2026, 3, 28, 20, 0)) == "Monday 09:00 (Europe/Berlin)"
    # and an opening at a time that does not exist that night (02:30) is shifted later by the gap, to 03:30 CEST
    odd = {**hours, "sun": ["02:30", "04:00"]}
    sunday = opening(odd, BERLIN, [], utc(2026, 3, 28, 23, 0))
    assert sunday.next_open_at == utc(2026, 3, 29, 1, 30) == local(BERLIN, 2026, 3, 29, 3, 30)


def test_across_the_fall_back_change_hours_stay_on_wall_clock_time() -> None:
    # Given New York moves from UTC-4 to UTC-5 at 02:00 on Sunday 1 November 2026, with Sunday 01:00-03:00 open
    hours = {**default_hours(), "sun": ["01:00", "03:00"]}
    # 01:30 happens twice; both are inside the span (01:00 EDT to 03:00 EST is three hours)
    assert opening(hours, NEW_YORK, [], utc(2026, 11, 1, 5, 30)).open is True  # 01:30 EDT
    assert opening(hours, NEW_YORK, [], utc(2026, 11, 1, 6, 30)).open is True  # 01:30 EST
    assert opening(hours, NEW_YORK, [], utc(2026, 11, 1, 7, 59)).open is True  # 02:59 EST
    after = opening(hours, NEW_YORK, [], utc(2026, 11, 1, 8, 0))  # 03:00 EST
    # and Monday opens at 09:00 EST = 14:00 UTC (it was 13:00 UTC the Monday before)
    assert after.open is False and after.next_open_at == utc(2026, 11, 2, 14, 0)
    assert opening(default_hours(), NEW_YORK, [], utc(2026, 10, 25, 12, 0)).next_open_at == utc(2026, 10, 26, 13, 0)


def test_an_overnight_span_belongs_to_the_day_it_opens() -> None:
    # Given a night shift: Monday to Friday 22:00 to 06:00 the next morning, closed the weekend
    night = {
        day: (["22:00", "06:00"] if day in ("mon", "tue", "wed", "thu", "fri") else None) for day in default_hours()
    }
    # Tuesday 03:00 is inside Monday's span, Tuesday 12:00 is not
    assert opening(night, BERLIN, [], local(BERLIN, 2026, 12, 1, 3, 0)).open is True
    noon = opening(night, BERLIN, [], local(BERLIN, 2026, 12, 1, 12, 0))
    assert noon.open is False and noon.next_open_at == local(BERLIN, 2026, 12, 1, 22, 0)
    # Saturday 05:00 is still Friday's night; Saturday 07:00 waits until Monday 22:00
    assert opening(night, BERLIN, [], local(BERLIN, 2026, 12, 5, 5, 0)).open is True
    assert opening(night, BERLIN, [], local(BERLIN, 2026, 12, 5, 7, 0)).next_open_at == local(
        BERLIN, 2026, 12, 7, 22, 0
    )
    # Monday 03:00 is not open: Sunday has no span
    assert opening(night, BERLIN, [], local(BERLIN, 2026, 12, 7, 3, 0)).open is False
    # and "until midnight" is a span that closes at 00:00 the next day
    late = {**default_hours(), "sat": ["18:00", "00:00"]}
    assert opening(late, BERLIN, [], local(BERLIN, 2026, 12, 5, 23, 59)).open is True
    assert opening(late, BERLIN, [], local(BERLIN, 2026, 12, 6, 0, 0)).open is False


def test_an_overnight_span_across_a_dst_change_lasts_its_wall_clock_hours() -> None:
    # Saturday 22:00 CET to Sunday 06:00 CEST on the spring-forward night is seven hours, not eight
    night = {**default_hours(), "sat": ["22:00", "06:00"]}
    assert opening(night, BERLIN, [], utc(2026, 3, 29, 3, 59)).open is True  # 05:59 CEST
    assert opening(night, BERLIN, [], utc(2026, 3, 29, 4, 0)).open is False  # 06:00 CEST


def test_holidays_and_closed_days_are_skipped() -> None:
    # Given Friday 25 December 2026 is a holiday: from Thursday evening the next opening is Monday
    friday = local(BERLIN, 2026, 12, 24, 18, 0)
    found = opening(default_hours(), BERLIN, ["2026-12-25"], friday)
    assert found.next_open_at == local(BERLIN, 2026, 12, 28, 9, 0)  # Monday
    assert opening(default_hours(), BERLIN, ["2026-12-25"], local(BERLIN, 2026, 12, 25, 10, 0)).open is False
    # a holiday closes spans that open that day, not the night shift that opened the evening before
    night = {**default_hours(), "thu": ["22:00", "06:00"]}
    assert opening(night, BERLIN, ["2026-12-25"], local(BERLIN, 2026, 12, 25, 5, 0)).open is True
    # and a workspace that is never open has no next opening
    never = dict.fromkeys(default_hours())
    assert opening(never, BERLIN, [], friday) == Opening(False, None)


@pytest.mark.parametrize(
    ("days_ahead", "expected"),
    [
        (0, "Tuesday 09:00 (Europe/Berlin)"),
        (5, "Sunday 09:00 (Europe/Berlin)"),
        (13, "Monday 14 December 09:00 (Europe/Berlin)"),
    ],
)
def test_the_next_opening_is_rendered_in_the_workspace_zone(days_ahead: int, expected: str) -> None:
    now = utc(2026, 12, 1, 5, 0)  # Tuesday 06:00 in Berlin
    instant = local(BERLIN, 2026, 12, 1, 9, 0) + timedelta(days=days_ahead)
    assert describe(instant, BERLIN, now) == expected


def test_the_after_hours_message_names_the_next_opening() -> None:
    when = "Monday 09:00 (Europe/Berlin)"
    assert after_hours_message("We are away.", when) == (
        "We are away. A person from our team will answer from Monday 09:00 (Europe/Berlin)."
    )
    assert after_hours_message("Back {next_open}!", when) == "Back Monday 09:00 (Europe/Berlin)!"
    assert after_hours_message("Back {next_open}.", None) == "Back as soon as possible."
    assert after_hours_message("We are away.", None) == "We are away."


def test_apply_hours_changes_only_escalations_after_hours_and_only_the_message_when_the_auto_response_is_on() -> None:
    # Given a person asked for, and Berlin hours with the auto-response on
    decision = decide(["can I talk to a human?"])
    on = AppSettingsValues(time_zone=BERLIN, after_hours_auto_response=True, after_hours_message="Away.")
    # inside hours: the decision as it was, marked inside hours
    inside = apply_hours(decision, on, local(BERLIN, 2026, 12, 1, 10, 0))
    assert inside == replace(decision, after_hours=False, next_open_at=None)
    # after hours: the after-hours message naming the next opening, and when that is
    after = apply_hours(decision, on, local(BERLIN, 2026, 12, 1, 18, 0))
    assert after.message == "Away. A person from our team will answer from Wednesday 09:00 (Europe/Berlin)."
    assert (after.after_hours, after.next_open_at) == (True, "2026-12-02T08:00:00+00:00")
    assert (after.rule, after.route, after.priority, after.action) == (HUMAN, "support", 3, "escalate")
    # with the auto-response off: recorded as after hours, the holding message unchanged
    off = apply_hours(decision, replace(on, after_hours_auto_response=False), local(BERLIN, 2026, 12, 1, 18, 0))
    assert (off.message, off.after_hours) == (decision.message, True)


def test_escalations_stored_before_business_hours_still_load() -> None:
    # Given an Escalated event stored as version 1 wrote it
    app = ChatAssistApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    conversation = Conversation(uuid.uuid4(), "widget", {})
    conversation.receive("m1", "my lawyer will call you")
    conversation.escalate("m1", decide(["my lawyer will call you"]))
    stored = app.mapper.to_stored_event(conversation.collect_events()[-1])
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2 and state.pop("after_hours") is None and state.pop("next_open_at") is None
    old = type(stored)(stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode())
    # When it is read back, then the hours fields are None and the rest is intact
    event = app.mapper.to_domain_event(old)
    assert isinstance(event, Conversation.Escalated)
    assert (event.rule, event.after_hours, event.next_open_at) == ("p1_legal", None, None)
