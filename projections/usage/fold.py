"""The usage projection's handler as a fold over a page (see projections/_fold.py); mirrors projection.py."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from eventsourcing.persistence import Tracking

from domain.conversation import Conversation
from projections._common import TrackedView
from projections._fold import Appends, Fold, Rows, add8, numeric8

COLUMNS = (
    "workspace_id month input_tokens output_tokens cache_read_tokens cache_write_tokens cost_usd"
    " unknown_cost_calls calls"
).split()
SUMS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class UsageFold(Fold):
    """Monthly sums of a page's model calls, added to the stored ones."""

    def __init__(self, view: TrackedView) -> None:
        super().__init__(view)
        self.monthly = Rows(view.table("monthly"), ("workspace_id", "month"), ("uuid", "date"), COLUMNS)
        self.tables: list[Rows | Appends] = [self.monthly]

    def keys(self, event: Any) -> list[tuple[Rows, tuple[Any, ...]]]:
        """The workspace and UTC month of the call."""
        return [(self.monthly, _month_key(event))]

    def model_call(self, e: Conversation.ModelCallMade, tracking: Tracking) -> None:
        key = _month_key(e)
        cost, unknown = numeric8(e.cost_usd or 0), 0 if e.cost_known else 1  # EXCLUDED holds numeric(20, 8)
        row = self.monthly.get(key)
        if row is None:
            values = {s: getattr(e, s) for s in SUMS}
            self.monthly.insert(key, {"workspace_id": key[0], "month": key[1], **values, "cost_usd": cost,
                                      "unknown_cost_calls": unknown, "calls": 1})  # fmt: skip
            return
        for s in SUMS:
            row[s] += getattr(e, s)
        row["cost_usd"] = add8(row["cost_usd"], cost)
        row["unknown_cost_calls"] += unknown
        row["calls"] += 1
        self.monthly.touched(key)

    handlers = {Conversation.ModelCallMade: model_call}


def _month_key(e: Any) -> tuple[Any, ...]:
    return (e.workspace_id, e.timestamp.astimezone(UTC).date().replace(day=1))
