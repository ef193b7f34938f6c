"""Time units and names the analytics projection and its fold share (neither imports the other for them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

SLOT = timedelta(minutes=15)  # every UTC offset in use is a whole number of quarter hours
HOUR = timedelta(hours=1)  # most are whole hours: their days are sets of UTC hours, 4 times fewer rows
ESCALATION_PROVIDER = "escalation"  # the provider named on a holding reply the rules wrote (no model)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """Microseconds since the epoch, exactly (durations are differences of these)."""
    return (at - _EPOCH) // _MICROSECOND
