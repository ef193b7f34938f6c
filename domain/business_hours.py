"""Business hours: is the team in, and when is it next? Pure (stdlib zoneinfo), time-zone aware.

``hours`` is the app setting (``domain/app_settings.py``): each weekday ``mon``..``sun`` maps to ``[open, close]``
in the workspace's IANA ``time_zone`` wall-clock time, or None (closed). A span whose closing time is not after its
opening time runs past midnight (``["22:00", "06:00"]``: 22:00 to 06:00 the next morning; ``["18:00", "00:00"]``:
until midnight). A span belongs to the day it opens on: a holiday (``YYYY-MM-DD`` in the workspace's zone)
closes the spans that open that day, not one that opened the evening before.

Wall-clock times are resolved by ``zoneinfo`` (PEP 495, ``fold=0``): a time that does not exist on a
spring-forward day (02:30 in Europe/Berlin on the last Sunday of March) is shifted later by the gap (03:30), and
a time that happens twice on a fall-back day is its first occurrence. All comparisons are made in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.app_settings import WEEKDAYS, AppSettingsValues
from domain.escalation import Decision

HORIZON_DAYS = 400  # enough to step over a year of holidays
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Opening:
    """Whether the team is in at an instant; if not, when it next opens (UTC, None if never)."""

    open: bool
    next_open_at: datetime | None = None


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), zone).astimezone(UTC)


def spans(
    hours: dict[str, list[str] | None], time_zone: str, holidays: list[str], first: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """The opening spans (UTC start, UTC end) of ``days`` local dates from ``first``, in order."""
    zone, closed = ZoneInfo(time_zone), set(holidays)
    for n in range(days):
        day = first + timedelta(days=n)
        span = hours.get(WEEKDAYS[day.weekday()])
        if span is None or day.isoformat() in closed:
            continue
        opens, closes = span
        end_day = day + timedelta(days=1) if closes <= opens else day
        yield _at(day, opens, zone), _at(end_day, closes, zone)


def opening(hours: dict[str, list[str] | None], time_zone: str, holidays: list[str], at: datetime) -> Opening:
    """Open at ``at`` (an aware instant)? If not, the next opening within ``HORIZON_DAYS``."""
    now = at.astimezone(UTC)
    yesterday = now.astimezone(ZoneInfo(time_zone)).date() - timedelta(days=1)
    for start, end in spans(hours, time_zone, holidays, yesterday, HORIZON_DAYS):
        if start <= now < end:
            return Opening(True)
        if start > now:
            return Opening(False, start)
    return Opening(False)


def describe(instant: datetime, time_zone: str, now: datetime) -> str:
    """``Monday 09:00 (Europe/Berlin)``; with the date when it is a week or more away."""
    local = instant.astimezone(ZoneInfo(time_zone))
    day = DAY_NAMES[local.weekday()]
    if instant - now >= timedelta(days=6):
        day += f" {local.day} {MONTHS[local.month - 1]}"
    return f"{day} {local:%H:%M} ({time_zone})"


def after_hours_message(template: str, next_open: str | None) -> str:
    """The after-hours reply: ``template`` with ``{next_open}`` filled in, or a sentence naming it appended."""
    if next_open is None:
        return template.replace("{next_open}", "as soon as possible")
    if "{next_open}" in template:
        return template.replace("{next_open}", next_open)
    return f"{template.rstrip()} A person from our team will answer from {next_open}."


def apply_hours(decision: Decision, settings: AppSettingsValues, now: datetime) -> Decision:
    """An escalation with the business hours applied: whether it came after hours, when the team opens next, and
    (with the after-hours auto-response on) the after-hours message as the visitor's holding message."""
    found = opening(settings.business_hours, settings.time_zone, settings.holidays, now)
    if found.open:
        return replace(decision, after_hours=False, next_open_at=None)
    when = found.next_open_at
    message = decision.message
    if settings.after_hours_auto_response:
        shown = describe(when, settings.time_zone, now) if when is not None else None
        message = after_hours_message(settings.after_hours_message, shown)
    return replace(
        decision, after_hours=True, next_open_at=when.isoformat() if when is not None else None, message=message
    )
