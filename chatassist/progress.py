"""The progress bar of long runs (rebuilds, audit verify) lives with the rebuild machinery in projections/rebuild/."""

from __future__ import annotations

from projections.rebuild.progress import Progress

__all__ = ["Progress"]
