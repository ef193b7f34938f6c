"""Shared by the analytics queries: the source of rows, date ranges, figures with their previous value."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from domain.errors import InvalidInput
from projections._common import TrackedView

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


AnalyticsSource = TrackedView
"""What the analytics queries read through: the analytics view (any view on the same database will do)."""


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


class DateRange(msgspec.Struct):
    """Inclusive range of UTC days."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        """The first instant of the range."""
        return datetime.combine(self.start, datetime.min.time(), UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the range."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), UTC)


def today() -> date:
    """The current UTC day (the workspace time zone comes later: docs/analytics.md)."""
    return datetime.now(UTC).date()


def _day(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date as YYYY-MM-DD, got {raw[:40]!r}.", code="invalid_date_range"
        ) from None


def date_range(start: str | None, end: str | None, *, now: date | None = None) -> DateRange:
    """The range of ``from``/``to`` (default: the last 30 days up to today); 422 invalid_date_range if unusable."""
    end_day = _day("to", end) if end else (now or today())
    start_day = _day("from", start) if start else end_day - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start_day > end_day:
        raise InvalidInput(f"from ({start_day}) is after to ({end_day}).", code="invalid_date_range")
    if (end_day - start_day).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"The range covers {(end_day - start_day).days + 1} days; the limit is {MAX_RANGE_DAYS}.",
            code="invalid_date_range",
        )
    return DateRange(start_day, end_day)


def ratio(part: float | int | None, whole: float | int | None) -> float | None:
    """``part / whole``, or None when ``whole`` is zero or unknown."""
    if not whole or part is None:
        return None
    return float(part) / float(whole)


def money(value: Any) -> Decimal:
    """A stored numeric as a Decimal with trailing zeros dropped (0.00405000 -> 0.00405)."""
    d = Decimal(value or 0)
    return d.quantize(Decimal(1)) if d == d.to_integral() else d.normalize()
