"""Monthly token and cost usage per workspace: feeds the budget check and the usage figures."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.conversation import Conversation
from projections._common import TrackedView

PREFIX = "usage_v1"
USAGE = f"{PREFIX}_monthly"


class UsageView(TrackedView):
    """Table ``usage_v1_monthly`` (migrations/0001) plus tracking."""

    prefix: ClassVar[str] = PREFIX

    def tokens_this_month(self, workspace_id: UUID) -> int:
        """All tokens recorded for the workspace in the current UTC calendar month."""
        rows = self.query(
            f"SELECT input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS total FROM {USAGE}"
            " WHERE workspace_id = %s AND month = date_trunc('month', now() AT TIME ZONE 'UTC')::date",
            (workspace_id,),
        )
        return int(rows[0]["total"]) if rows else 0


class UsageProjection(Projection[UsageView]):
    """Sums every model call (successful or not) by workspace and UTC month."""

    name = "usage_v1"
    topics: tuple[str, ...] = (get_topic(Conversation.ModelCallMade),)

    @staticmethod
    def fold(view: TrackedView) -> Any:
        """This projection's handlers as a fold over a page of events (fold.py)."""
        from projections.usage.fold import UsageFold

        return UsageFold(view)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other events only advance the position."""
        self.view.apply(tracking, [])

    @process_event.register
    def _(self, e: Conversation.ModelCallMade, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {self.view.table('monthly')} AS u (workspace_id, month, input_tokens, output_tokens,"
                    " cache_read_tokens, cache_write_tokens, cost_usd, unknown_cost_calls, calls) VALUES (%(ws)s,"
                    " date_trunc('month', %(at)s AT TIME ZONE 'UTC')::date, %(i)s, %(o)s, %(cr)s, %(cw)s,"
                    " %(cost)s, %(unknown)s, 1) ON CONFLICT (workspace_id, month) DO UPDATE SET"
                    " input_tokens = u.input_tokens + EXCLUDED.input_tokens,"
                    " output_tokens = u.output_tokens + EXCLUDED.output_tokens,"
                    " cache_read_tokens = u.cache_read_tokens + EXCLUDED.cache_read_tokens,"
                    " cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,"
                    " cost_usd = u.cost_usd + EXCLUDED.cost_usd,"
                    " unknown_cost_calls = u.unknown_cost_calls + EXCLUDED.unknown_cost_calls, calls = u.calls + 1",
                    {
                        "ws": e.workspace_id,
                        "at": e.timestamp,
                        "i": e.input_tokens,
                        "o": e.output_tokens,
                        "cr": e.cache_read_tokens,
                        "cw": e.cache_write_tokens,
                        "cost": e.cost_usd or 0,
                        "unknown": 0 if e.cost_known else 1,
                    },
                )
            ],
        )
