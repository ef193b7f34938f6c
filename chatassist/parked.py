"""The operator's side of parked workspaces (projections/_parking.py): list them, retry one after a fix."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg

from chatassist.bootstrap import PROJECTIONS, Container
from projections._paging import NotParked, PageApplier
from projections._parking import Parked, parked

__all__ = ["NotParked", "list_parked", "retry"]


def _projection(name: str) -> tuple[Any, Any]:
    """The projection and view classes registered as ``name`` (or whose tracking name is ``name``)."""
    for registered, (projection_class, view_class) in PROJECTIONS.items():
        if name in (registered, projection_class.name.lower()):
            return projection_class, view_class
    raise SystemExit(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")


def list_parked(container: Container, names: list[str] | None = None) -> list[Parked]:
    """Every parked workspace of the named projections (default: all), oldest first."""
    wanted = {_projection(n)[0].name.lower() for n in names} if names else None
    with psycopg.connect(container.database_url) as conn:
        return [p for p in parked(conn) if wanted is None or p.projection in wanted]


def retry(container: Container, name: str, workspace: UUID, batch: int = 500) -> int:
    """Re-apply the events of ``workspace`` (parked for projection ``name``) and unpark it; the number of events
    applied. NotParked, or RetryFailed (the workspace stays parked, with the new error)."""
    projection_class, view_class = _projection(name)
    view = container.view(view_class, projection_class.name)
    try:
        applier = PageApplier(
            container.app.name,
            container.app.mapper,
            projection_class(view=view),
            view,
            park_in=container.app.recorder.events_table_name,
        )
        with psycopg.connect(**view.datastore.pool.kwargs, autocommit=True) as conn:
            return applier.retry(conn, workspace, batch)
    finally:
        view.datastore.close()
