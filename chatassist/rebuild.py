"""The rebuild machinery lives in projections/rebuild/; the composition root registers its projections there."""

from __future__ import annotations

from chatassist.bootstrap import PROJECTIONS as _PROJECTIONS
from projections.rebuild.core import (
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
