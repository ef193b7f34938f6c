"""The analytics projection's handlers as a fold over a page (see projections/_fold.py); mirrors projection.py.

Every handler of projection.py has one here, computing what PostgreSQL computes: integer sums exactly, numeric(20, 8)
costs with ``add8`` (an UPDATE adds the event's cost unrounded, an upsert adds the value its VALUES row was rounded
to), double-precision sums as IEEE doubles like float8, ``((a - b) / 1000.0)::double precision`` as Python's
correctly rounded ``(a - b) / 1000`` (the numeric quotient is exact below 10^12 ms, and float8 reads its text), the
right-hand side of every assignment from the row before the UPDATE, and an UPDATE of a row that does not exist
changing nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import Tracking

from domain.app_settings import AppSettings, app_settings_id
from domain.conversation import Conversation
from domain.workspace import Workspace, WorkspaceSettings
from projections._common import TrackedView
from projections._fold import EXACT, Appends, ConversationFold, Rows, add8, numeric8
from projections.analytics.units import _EPOCH, _MICROSECOND, ESCALATION_PROVIDER, HOUR, SLOT, micros

# a new conversation row: every column with its default (migrations/0007_analytics_v2.sql); ``pending`` is fresh
CONVERSATION_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys("id workspace_id visitor_id channel started_at last_activity_at status".split()),
    "resolved": False,
    **dict.fromkeys("resolved_by resolved_at closed_at".split()),
    **dict.fromkeys("turns replies failed_turns".split(), 0),
    **dict.fromkeys("first_message_id first_message_us first_response_ms".split()),
    "reply_latency_ms_sum": 0.0,
    "pending": None,
    **dict.fromkeys("model_calls fallbacks input_tokens output_tokens cache_read_tokens cache_write_tokens".split(), 0),
    "cost_usd": Decimal(0),
    "unknown_cost_calls": 0,
    **dict.fromkeys("last_provider last_model last_prompt_version topic".split()),
    "confidence_sum": 0.0,
    **dict.fromkeys("last_confidence csat".split()),
    "escalations": 0,
    "escalated_at": None,
    "escalation_offers": 0,
    "agent_involved": False,
    **dict.fromkeys("prompt_version ai_provider ai_model call_provider call_model".split()),
    "ai_replies": 0,
    "ai_confidence_sum": 0.0,
    "version": None,
}
USAGE_KEY = ("workspace_id", "slot", "provider", "model")
USAGE_SUMS = (
    "calls first_attempts ok_calls fallbacks input_tokens output_tokens cache_read_tokens cache_write_tokens"
    " unknown_cost_calls ttft_count cost_usd ttft_ms_sum latency_ms_sum"
).split()
USAGE_COLUMNS = [*USAGE_KEY, *USAGE_SUMS]
WORKSPACE_COLUMNS = ["workspace_id", "settings_id", "monthly_token_budget", "time_zone", "retention_days"]
SLOT_US, HOUR_US = SLOT // _MICROSECOND, HOUR // _MICROSECOND  # slot_of in whole microseconds
RETAINED = ("time_zone", "analytics_retention_days")
NULL_KEY = "jsonb_build_object: a key of pending must not be null"
NULL_PENDING = "pending - NULL is NULL: pending is NOT NULL"


class AnalyticsFold(ConversationFold):
    """Conversation, usage (15-minute and hourly) and workspace rows of a page, folded in memory."""

    def __init__(self, view: TrackedView) -> None:
        super().__init__(view)
        self.conversations = Rows(view.table("conversations"), ("id",), ("uuid",), list(CONVERSATION_DEFAULTS))
        usage_types = ("uuid", "timestamptz", "text", "text")
        self.slots = Rows(view.table("usage_slots"), USAGE_KEY, usage_types, USAGE_COLUMNS)
        self.hourly = Rows(view.table("usage_hourly"), USAGE_KEY, usage_types, USAGE_COLUMNS)
        self.workspaces = Rows(
            view.table("workspaces"), ("workspace_id",), ("uuid",), WORKSPACE_COLUMNS, unique={"settings_id": "uuid"}
        )
        self.tables: list[Rows | Appends] = [self.conversations, self.slots, self.hourly, self.workspaces]
        self.starts: dict[int, datetime] = {}  # slot starts by microseconds since the epoch (few distinct ones)

    def keys(self, event: Any) -> list[tuple[Rows, tuple[Any, ...]]]:
        """A conversation event's row (and a model call's usage rows); a workspace's row; AppSettings.Changed finds
        its workspace's row by ``settings_id``, as its UPDATE does."""
        kind = type(event)
        if kind is Conversation.ModelCallMade:
            quarter, hour = self._slots(event)
            return [(self.conversations, (event.originator_id,)), (self.slots, quarter), (self.hourly, hour)]
        if kind is AppSettings.Changed:
            self.workspaces.want_by("settings_id", event.originator_id)
            return []
        if kind is Workspace.Created or kind is Workspace.SettingsChanged:
            return [(self.workspaces, (event.originator_id,))]
        return super().keys(event)

    # --- conversations ------------------------------------------------------------------------------------------

    def started(self, e: Conversation.Started, tracking: Tracking) -> None:
        row = {
            **CONVERSATION_DEFAULTS,
            "id": e.originator_id,
            "workspace_id": e.workspace_id,
            "visitor_id": e.personal.get("user_id"),
            "channel": e.channel,
            "started_at": e.timestamp,
            "last_activity_at": e.timestamp,
            "status": "open",
            "pending": {},
            "version": e.originator_version,
        }
        self.conversations.insert((e.originator_id,), row)

    def message(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is None:
            return
        mid, us = _key(e.message_id, NULL_KEY), micros(e.timestamp)
        row["turns"] += 1
        row["status"], row["resolved"] = "open", False
        if row["first_message_id"] is None:
            row["first_message_id"] = mid
        if row["first_message_us"] is None:
            row["first_message_us"] = us
        row["pending"][mid] = us

    def _slots(self, e: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The keys of a model call's 15-minute and hourly usage rows (``slot_of``, from the microseconds)."""
        us = micros(e.timestamp)
        quarter, hour = us - us % SLOT_US, us - us % HOUR_US
        starts = self.starts
        if quarter not in starts or hour not in starts:
            if len(starts) > 100_000:
                starts.clear()
            starts[quarter], starts[hour] = _EPOCH + quarter * _MICROSECOND, _EPOCH + hour * _MICROSECOND
        return (
            (e.workspace_id, starts[quarter], e.provider, e.model),
            (e.workspace_id, starts[hour], e.provider, e.model),
        )

    def model_call(self, e: Conversation.ModelCallMade, tracking: Tracking) -> None:
        cost = e.cost_usd or 0
        cost8 = numeric8(cost)  # the upsert's EXCLUDED row holds the cost as numeric(20, 8)
        unknown = 0 if e.cost_known else 1
        fallback = 1 if e.outcome == "fell_back" else 0
        tokens_in, tokens_out = e.input_tokens, e.output_tokens
        cache_read, cache_write = e.cache_read_tokens, e.cache_write_tokens
        key = (e.originator_id,)
        row = self.conversations.rows[key]
        if row is not None:  # no activity time: a model call is not a message
            row["model_calls"] += 1
            row["fallbacks"] += fallback
            row["input_tokens"] += tokens_in
            row["output_tokens"] += tokens_out
            row["cache_read_tokens"] += cache_read
            row["cache_write_tokens"] += cache_write
            # the UPDATE adds the cost as it is, then the column rounds the sum; with 8 places or fewer the sum is
            # exact (no rounding), and the same as with the rounded cost
            stored = row["cost_usd"]
            row["cost_usd"] = EXACT.add(stored, cost8) if cost8 == cost else add8(stored, cost)
            row["unknown_cost_calls"] += unknown
            row["prompt_version"], row["call_provider"], row["call_model"] = e.prompt_version, e.provider, e.model
            row["version"] = e.originator_version
            self.conversations.dirty.add(key)
        ok = e.outcome == "ok"
        timed = ok and e.ttft_ms is not None
        first, ok_call, ttft_count = 1 if e.attempt == 1 else 0, 1 if ok else 0, 1 if timed else 0
        ttft = float(e.ttft_ms) if timed and e.ttft_ms is not None else 0.0
        latency = float(e.latency_ms) if ok else 0.0
        for rows, slot in zip((self.slots, self.hourly), self._slots(e), strict=True):
            usage = rows.rows[slot]
            if usage is None:
                rows.insert(slot, {"workspace_id": slot[0], "slot": slot[1], "provider": slot[2], "model": slot[3],
                                   "calls": 1, "first_attempts": first, "ok_calls": ok_call, "fallbacks": fallback,
                                   "input_tokens": tokens_in, "output_tokens": tokens_out,
                                   "cache_read_tokens": cache_read, "cache_write_tokens": cache_write,
                                   "unknown_cost_calls": unknown, "ttft_count": ttft_count, "cost_usd": cost8,
                                   "ttft_ms_sum": ttft, "latency_ms_sum": latency})  # fmt: skip
                continue
            usage["calls"] += 1
            usage["first_attempts"] += first
            usage["ok_calls"] += ok_call
            usage["fallbacks"] += fallback
            usage["input_tokens"] += tokens_in
            usage["output_tokens"] += tokens_out
            usage["cache_read_tokens"] += cache_read
            usage["cache_write_tokens"] += cache_write
            usage["unknown_cost_calls"] += unknown
            usage["ttft_count"] += ttft_count
            usage["cost_usd"] = EXACT.add(usage["cost_usd"], cost8)  # both have 8 places: exact
            usage["ttft_ms_sum"] += ttft
            usage["latency_ms_sum"] += latency
            rows.dirty.add(slot)

    def replied(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is None:
            return
        rt, us = _key(e.reply_to, NULL_PENDING), micros(e.timestamp)
        waited = row["pending"].pop(rt, None)
        row["reply_latency_ms_sum"] += 0.0 if waited is None else (us - int(waited)) / 1000
        if row["first_message_id"] == rt and row["first_response_ms"] is None:
            first = row["first_message_us"]
            row["first_response_ms"] = None if first is None else (us - first) / 1000
        confidence = float(e.confidence)
        ai = 0 if e.provider == ESCALATION_PROVIDER else 1
        row["replies"] += 1
        row["topic"] = e.topic
        row["confidence_sum"] += confidence
        row["last_confidence"] = confidence
        row["last_provider"], row["last_model"] = e.provider, e.model
        row["last_prompt_version"] = row["prompt_version"] = e.prompt_version
        row["ai_replies"] += ai
        row["ai_confidence_sum"] += ai * confidence
        if ai == 1:
            row["ai_provider"], row["ai_model"] = e.provider, e.model

    def failed(self, e: Conversation.TurnFailed, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["failed_turns"] += 1
            row["pending"].pop(_key(e.reply_to, NULL_PENDING), None)

    def resolved(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        self._set(e, status="resolved", resolved=True, resolved_by=e.by, resolved_at=e.timestamp)

    def closed(self, e: Conversation.Closed, tracking: Tracking) -> None:
        self._set(e, status="closed", closed_at=e.timestamp)

    def rated(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        self._set(e, csat=e.score)

    def escalated(self, e: Conversation.Escalated, tracking: Tracking) -> None:
        row = self._touch(e)
        if row is not None:
            row["escalations"] += 1
            if row["escalated_at"] is None:
                row["escalated_at"] = e.timestamp
            row["topic"] = e.topic

    def offered(self, e: Conversation.EscalationOffered, tracking: Tracking) -> None:
        self._count(e, "escalation_offers")

    def claimed(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        self._set(e, agent_involved=True)

    def agent_replied(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        self._set(e, agent_involved=True, pending={})

    def topic_changed(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        self._set(e, topic=e.topic)

    # --- workspaces ---------------------------------------------------------------------------------------------

    def _budget(self, workspace_id: Any, budget: int) -> None:
        """Insert the workspace's row with ``budget``, or set the budget of the row there is (``_budget`` SQL)."""
        key = (workspace_id,)
        row = self.workspaces.rows[key]
        if row is None:
            self.workspaces.insert(key, {"workspace_id": workspace_id, "settings_id": app_settings_id(workspace_id),
                                         "monthly_token_budget": budget, "time_zone": "UTC",
                                         "retention_days": 365})  # fmt: skip
            return
        row["monthly_token_budget"] = budget
        self.workspaces.dirty.add(key)

    def workspace_created(self, e: Workspace.Created, tracking: Tracking) -> None:
        budget = e.settings.get("monthly_token_budget", WorkspaceSettings.monthly_token_budget)
        self._budget(e.originator_id, int(budget))

    def settings_changed(self, e: Workspace.SettingsChanged, tracking: Tracking) -> None:
        budget = e.changes.get("monthly_token_budget")
        if budget is not None:
            self._budget(e.originator_id, int(budget))

    def app_settings_changed(self, e: AppSettings.Changed, tracking: Tracking) -> None:
        sets = {k: e.changes[k] for k in RETAINED if k in e.changes}
        key = self.workspaces.find("settings_id", e.originator_id) if sets else None
        if key is None:
            return
        row = self.workspaces.rows[key]
        assert row is not None
        if sets.get("time_zone") is not None:
            row["time_zone"] = sets["time_zone"]
        if sets.get("analytics_retention_days") is not None:
            row["retention_days"] = sets["analytics_retention_days"]
        self.workspaces.dirty.add(key)

    handlers = {
        Conversation.Started: started,
        Conversation.UserMessageReceived: message,
        Conversation.ModelCallMade: model_call,
        Conversation.AssistantReplied: replied,
        Conversation.TurnFailed: failed,
        Conversation.Resolved: resolved,
        Conversation.Closed: closed,
        Conversation.CsatRated: rated,
        Conversation.Escalated: escalated,
        Conversation.EscalationOffered: offered,
        Conversation.AgentClaimed: claimed,
        Conversation.AgentReplied: agent_replied,
        Conversation.TopicChanged: topic_changed,
        Workspace.Created: workspace_created,
        Workspace.SettingsChanged: settings_changed,
        AppSettings.Changed: app_settings_changed,
    }


def _key(value: Any, refusal: str) -> Any:
    """A message id used as a key of ``pending``: PostgreSQL refuses a null one (the SQL handler fails), so here too."""
    if value is None:
        raise ValueError(refusal)
    return value
