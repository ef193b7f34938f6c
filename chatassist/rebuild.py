"""The rebuild machinery lives in projections/rebuild/; the composition root registers its projections there."""

from __future__ import annotations

from typing import Any

from chatassist.bootstrap import PROJECTIONS as _PROJECTIONS
from projections.rebuild.core import (
    AFTER_SWAP,
    BATCH,
    HOLD_ROWS,
    PROJECTIONS,
    Rebuild,
    RebuildPass,
    RebuildRefused,
    RebuildResult,
    known,
    rebuild,
    rebuild_all,
)

PROJECTIONS.update(_PROJECTIONS)


def purge_again(container: Any) -> int:
    """The retention purge of every workspace's read models, after a pass's swap (the rebuild restored from the
    events the rows older than each workspace's retention); returns the rows deleted."""
    from workers.retention import purge_read_models

    purged = purge_read_models(container.app, container.database_url)
    return sum(sum(counts.values()) for counts in purged.values())


if purge_again not in AFTER_SWAP:
    AFTER_SWAP.append(purge_again)

__all__ = [
    "BATCH",
    "HOLD_ROWS",
    "Rebuild",
    "RebuildPass",
    "RebuildRefused",
    "RebuildResult",
    "known",
    "rebuild",
    "rebuild_all",
]
