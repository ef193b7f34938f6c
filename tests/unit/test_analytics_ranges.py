"""Date ranges of the analytics queries: local days, the retention window, and which rollup cuts them exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.errors import InvalidInput
from projections.analytics.projection import USAGE_HOURLY, USAGE_SLOTS
from read_api._analytics import WorkspaceFacts, date_range, usage_table


def test_a_range_is_local_midnight_to_local_midnight() -> None:
    days = date_range("2026-03-28", "2026-03-29", now=date(2026, 4, 1), facts=WorkspaceFacts("Europe/Berlin"))
    # Berlin moves to summer time on 29 March: that day is 23 hours long
    assert days.since == datetime(2026, 3, 27, 23, tzinfo=UTC)
    assert days.until == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_the_retention_window_counts_back_from_today() -> None:
    facts = WorkspaceFacts("UTC", retention_days=30)
    assert date_range("2026-11-01", None, now=date(2026, 12, 1), facts=facts).start == date(2026, 11, 1)
    with pytest.raises(InvalidInput) as refused:
        date_range("2026-10-31", None, now=date(2026, 12, 1), facts=facts)
    assert refused.value.code == "outside_retention" and "2026-11-01" in refused.value.message


@pytest.mark.parametrize(
    ("zone", "table"),
    [("UTC", USAGE_HOURLY), ("Europe/Berlin", USAGE_HOURLY), ("Asia/Kolkata", USAGE_SLOTS),
     ("Asia/Kathmandu", USAGE_SLOTS), ("America/St_Johns", USAGE_SLOTS)],
)  # fmt: skip
def test_whole_hour_zones_read_the_hourly_rollup(zone: str, table: str) -> None:
    assert usage_table(zone, date(2026, 1, 1), date(2026, 12, 31)) == table
