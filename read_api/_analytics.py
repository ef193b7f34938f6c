"""Shared by the analytics queries: the source of rows, the workspace's time zone and retention, date ranges in that
zone, figures with their previous value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from domain.errors import InvalidInput
from projections._common import TrackedView
from projections.analytics.projection import USAGE_HOURLY, USAGE_SLOTS, WORKSPACES
from read_api._reads import Planned, Reads, Rows, Statement, drive

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
AI_RESOLVED = "(resolved AND escalations = 0 AND NOT agent_involved)"
"""SQL over a conversation row: resolved with no person called in (no escalation, no agent claimed or replied)."""


AnalyticsSource = TrackedView
"""What the analytics queries read through: the analytics view (any view on the same database will do)."""

T = TypeVar("T")


class Count(msgspec.Struct):
    """A whole number and its value in the previous period."""

    value: int
    previous: int


class Rate(msgspec.Struct):
    """A ratio or average (None when there is nothing to divide) and its value in the previous period."""

    value: float | None
    previous: float | None


class Money(msgspec.Struct):
    """USD, serialised as a decimal string, and its value in the previous period."""

    value: Decimal
    previous: Decimal


@dataclass(frozen=True)
class WorkspaceFacts:
    """What the analytics view knows of a workspace besides its conversations (defaults before its first event)."""

    time_zone: str = "UTC"
    retention_days: int = 365
    monthly_token_budget: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        """The IANA zone days and hours are cut in."""
        return ZoneInfo(self.time_zone)

    def today(self) -> date:
        """The current day in the workspace's time zone."""
        return datetime.now(self.zone).date()


FACTS_SQL = f"SELECT time_zone, retention_days, monthly_token_budget FROM {WORKSPACES} WHERE workspace_id = %s"
_last_facts: dict[UUID, WorkspaceFacts] = {}  # per workspace, the facts last read: a guess, always checked
LAST_FACTS_MAX = 10_000


def _facts_of(workspace_id: UUID, rows: Rows) -> WorkspaceFacts:
    facts = WorkspaceFacts()
    if rows:
        row = rows[0]
        facts = WorkspaceFacts(row["time_zone"], int(row["retention_days"]), int(row["monthly_token_budget"]))
    if len(_last_facts) >= LAST_FACTS_MAX:
        _last_facts.clear()
    _last_facts[workspace_id] = facts
    return facts


def workspace_facts(view: AnalyticsSource, workspace_id: UUID) -> WorkspaceFacts:
    """The workspace's time zone, analytics retention and token budget, from the analytics view (one read)."""
    return _facts_of(workspace_id, view.query(FACTS_SQL, (workspace_id,)))


def with_facts(workspace_id: UUID, plan: Callable[[WorkspaceFacts], Planned[T]]) -> Reads[T]:
    """The read ``plan`` makes given the workspace's facts (its time zone cuts the days), with the facts read in the
    same round trip: the statements are planned with the facts last read for the workspace and, in the rare case
    those changed since (or when there are none yet, or they make the request invalid), planned again with the
    facts just read and sent again. Either way the answer is that of the facts as they are now."""
    facts_read: Statement = (FACTS_SQL, (workspace_id,))
    guess = _last_facts.get(workspace_id)
    if guess is not None:
        try:
            planned = plan(guess)
        except InvalidInput:  # perhaps valid with the current facts: read them first
            pass
        else:
            rows = yield [facts_read, *planned.statements]
            if _facts_of(workspace_id, rows[0]) == guess:
                return planned.assemble(rows[1:])
    facts = _facts_of(workspace_id, (yield [facts_read])[0])
    planned = plan(facts)
    return planned.assemble((yield planned.statements))


def run_with_facts(view: AnalyticsSource, workspace_id: UUID, plan: Callable[[WorkspaceFacts], Planned[T]]) -> T:
    """``with_facts`` on a view's pool (blocking)."""
    return drive(view, with_facts(workspace_id, plan))


class DateRange(msgspec.Struct):
    """Inclusive range of days in the time zone ``time_zone``."""

    start: date
    end: date
    time_zone: str = "UTC"

    @property
    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        """The first instant of the range (local midnight of ``start``, as UTC)."""
        return midnight(self.start, self.time_zone)

    @property
    def until(self) -> datetime:
        """The first instant after the range."""
        return midnight(self.end + timedelta(days=1), self.time_zone)


def midnight(day: date, time_zone: str) -> datetime:
    """The first instant of ``day`` in ``time_zone``, in UTC (where midnight is skipped by DST, the first hour)."""
    return datetime.combine(day, time(), ZoneInfo(time_zone)).astimezone(UTC)


@lru_cache(maxsize=4096)
def usage_table(time_zone: str, first: date, last: date) -> str:
    """The model-call rollup to cut days ``first``..``last`` from: by UTC hour when every local midnight of the
    range falls on a whole UTC hour (most zones), else by 15-minute slot (India, Nepal, Newfoundland...)."""
    days = (last - first).days + 2
    aligned = all(midnight(first + timedelta(days=n), time_zone).minute == 0 for n in range(days))
    return USAGE_HOURLY if aligned else USAGE_SLOTS


def today() -> date:
    """The current UTC day."""
    return datetime.now(UTC).date()


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date as YYYY-MM-DD, got {raw[:40]!r}.", code="invalid_date_range"
        ) from None


def date_range(
    start: str | None, end: str | None, *, now: date | None = None, facts: WorkspaceFacts | None = None
) -> DateRange:
    """The range of ``from``/``to`` (default: the last 30 days up to today, in the workspace's zone); 422
    invalid_date_range if unusable, outside_retention if it starts before the retention window."""
    facts = facts or WorkspaceFacts()
    current = now or facts.today()
    end_day = _day("to", end) if end else current
    start_day = _day("from", start) if start else end_day - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start_day > end_day:
        raise InvalidInput(f"from ({start_day}) is after to ({end_day}).", code="invalid_date_range")
    if (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"The range covers {(end_day - start_day).days + 1} days; the limit is {MAX_RANGE_DAYS}.",
            code="invalid_date_range",
        )
    oldest = current - timedelta(days=facts.retention_days)
    if start_day < oldest:
        raise InvalidInput(
            f"from ({start_day}) is before the analytics retention window of {facts.retention_days} days, which"
            f" starts on {oldest}; ask for a later start or raise analytics_retention_days in the settings.",
            code="outside_retention",
        )
    return DateRange(start_day, end_day, facts.time_zone)


def ratio(part: float | int | None, whole: float | int | None) -> float | None:
    """``part / whole``, or None when ``whole`` is zero or unknown."""
    if not whole or part is None:
        return None
    return float(part) / float(whole)


def change(value: float | Decimal | int | None, previous: float | Decimal | int | None) -> float | None:
    """The change of a count or an amount against the previous period, as a fraction: (value - previous) /
    previous; None when there is no previous figure to compare with."""
    if value is None or not previous:
        return None
    return (float(value) - float(previous)) / float(previous)


def difference(value: float | None, previous: float | None) -> float | None:
    """The change of a rate or an average against the previous period, in its own unit (points, milliseconds)."""
    if value is None or previous is None:
        return None
    return value - previous


def money(value: Any) -> Decimal:
    """A stored numeric as a Decimal with trailing zeros dropped (0.00405000 -> 0.00405)."""
    d = Decimal(value or 0)
    return d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize()
