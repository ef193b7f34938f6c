"""When a domain event happened: now, unless a caller pins the clock (the demo seeder writes history).

eventsourcing stamps each event in ``trigger_event`` with ``event_class.create_timestamp()`` unless a timestamp is
given; an aggregate whose base ``Event`` inherits :class:`ClockedEvent` takes it from :func:`event_time`, so a
seeder can record a conversation as it happened weeks ago, each event carrying its own (past) instant, through the
same aggregate methods and commands as a live chat. Nothing in a request ever pins the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from eventsourcing.domain import Aggregate

_pinned: ContextVar[datetime | None] = ContextVar("chatassist_event_time", default=None)


def event_time() -> datetime:
    """The instant a new event records: the pinned one, else the current UTC time."""
    pinned = _pinned.get()
    return pinned if pinned is not None else datetime.now(UTC)


@contextmanager
def events_at(when: datetime) -> Iterator[None]:
    """Stamp the events triggered in this block (this thread or task only) with ``when`` (timezone-aware)."""
    if when.tzinfo is None:
        raise ValueError("events_at needs a timezone-aware datetime")
    token = _pinned.set(when.astimezone(UTC))
    try:
        yield
    finally:
        _pinned.reset(token)


class ClockedEvent(Aggregate.Event):
    """Base event of an aggregate whose events take their timestamp from :func:`event_time`."""

    create_timestamp = staticmethod(event_time)
