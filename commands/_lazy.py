"""Load-or-create-decide-save for per-workspace aggregates created lazily on their first change."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from commands._common import CONFLICT_RETRIES
from commands.application import ChatAssistApp
from domain.errors import Conflict

A = TypeVar("A", bound=Aggregate)


def get_or_none(app: ChatAssistApp, aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate (a copy, safe to change), or None when it was never created."""
    try:
        aggregate: object = app.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    assert isinstance(aggregate, kind)
    return aggregate


def read_or_none(app: ChatAssistApp, aggregate_id: UUID, kind: type[A]) -> A | None:
    """The aggregate for reading only (no defensive copy), or None when it was never created."""
    try:
        aggregate: object = app.repository.get(aggregate_id, deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return None
    assert isinstance(aggregate, kind)
    return aggregate


def save_with_retries(app: ChatAssistApp, what: str, attempt: Callable[[], Sequence[Aggregate]]) -> None:
    """Run ``attempt`` (load, decide, return the aggregates to save) and save them in one transaction,
    again from a fresh load when another writer got there first."""
    for n in range(CONFLICT_RETRIES):
        aggregates = attempt()
        try:
            app.save(*aggregates)
        except RecordConflictError:
            if n == CONFLICT_RETRIES - 1:
                raise Conflict(
                    f"The {what} changed while we were saving; try again.", code="concurrent_update"
                ) from None
            continue
        return
