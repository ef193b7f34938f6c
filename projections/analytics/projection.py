"""The analytics read model: one row per conversation, model calls by day and model, each workspace's budget.

Every figure of the dashboards (overview, activity, usage, topics) is an aggregate over these rows; see
docs/analytics.md for the definitions. Rows keep UTC instants (model calls in 15-minute slots); the queries cut
days and hours in the workspace's time zone. Durations come from event timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.app_settings import AppSettings, app_settings_id
from domain.conversation import ERASED, Conversation
from domain.workspace import Workspace, WorkspaceSettings
from projections._common import Statement, TrackedView
from projections.analytics.fold import AnalyticsFold
from projections.analytics.units import _EPOCH, ESCALATION_PROVIDER, HOUR, SLOT, micros

PREFIX = "analytics_v2"
CONVERSATIONS, USAGE_SLOTS, USAGE_HOURLY, WORKSPACES = (
    f"{PREFIX}_{t}" for t in ("conversations", "usage_slots", "usage_hourly", "workspaces")
)


def slot_of(at: datetime, width: timedelta = SLOT) -> datetime:
    """The start of the UTC slot of ``width`` (15 minutes by default) holding ``at``."""
    return _EPOCH + (at - _EPOCH) // width * width


class AnalyticsView(TrackedView):
    """Tables ``analytics_v2_*`` (migrations/0007, 0007_b) plus this projection's tracking table.

    ``prefix`` names the tables written, so a rebuild can fill a fresh set beside the live one.
    """

    prefix: ClassVar[str] = PREFIX

    def table(self, name: str) -> str:
        """The full name of one of this view's tables: conversations, usage_slots, usage_hourly or workspaces."""
        return f"{self.prefix}_{name}"

    def live_workspaces_sql(self) -> str:
        """The workspaces of committed events' aggregates: conversations, workspaces, app settings (live notices)."""
        return (
            f"SELECT workspace_id FROM {self.table('conversations')} WHERE id = ANY(%(ids)s)"
            f" UNION SELECT workspace_id FROM {self.table('workspaces')}"
            " WHERE workspace_id = ANY(%(ids)s) OR settings_id = ANY(%(ids)s)"
        )


class AnalyticsProjection(Projection[AnalyticsView]):
    """Keeps the facts of every conversation, model calls by hour and by 15-minute slot and model, and each
    workspace's budget, time zone and retention."""

    name = "analytics_v2"
    topics: tuple[str, ...] = tuple(
        get_topic(cls)
        for cls in (
            Conversation.Started,
            Conversation.UserMessageReceived,
            Conversation.ModelCallMade,
            Conversation.AssistantReplied,
            Conversation.TurnFailed,
            Conversation.Resolved,
            Conversation.Closed,
            Conversation.CsatRated,
            Conversation.Escalated,
            Conversation.EscalationOffered,
            Conversation.AgentClaimed,
            Conversation.AgentReplied,
            Conversation.TopicChanged,
            Conversation.PersonalDataErased,
            Workspace.Created,
            Workspace.SettingsChanged,
            AppSettings.Changed,
        )
    )

    def _update(self, e: Any, assignments: str, **params: Any) -> Statement:
        """UPDATE the conversation row of ``e``, also recording its activity time and version."""
        return (
            f"UPDATE {self.view.table('conversations')} SET {assignments},"
            " last_activity_at = %(at)s, version = %(v)s WHERE id = %(id)s",
            {"at": e.timestamp, "v": e.originator_version, "id": e.originator_id, **params},
        )

    def _budget(self, workspace_id: Any, budget: int) -> Statement:
        return (
            f"INSERT INTO {self.view.table('workspaces')} AS w (workspace_id, settings_id, monthly_token_budget)"
            " VALUES (%(ws)s, %(sid)s, %(b)s) ON CONFLICT (workspace_id) DO UPDATE SET monthly_token_budget = EXCLUDED"
            ".monthly_token_budget",
            {"ws": workspace_id, "sid": app_settings_id(workspace_id), "b": budget},
        )

    def _usage_upsert(self, table: str) -> str:
        """Add one model call to its (workspace, slot, provider, model) row of ``table``."""
        return (
            f"INSERT INTO {self.view.table(table)} AS u (workspace_id, slot, provider, model, calls,"
            " first_attempts, ok_calls, fallbacks, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_tokens, cost_usd, unknown_cost_calls, ttft_ms_sum, ttft_count, latency_ms_sum)"
            " VALUES (%(ws)s, %(slot)s, %(p)s, %(m)s, 1, %(first)s, %(ok)s, %(fb)s, %(i)s, %(o)s, %(cr)s, %(cw)s,"
            " %(cost)s, %(unknown)s, %(ttft)s, %(ttft_n)s, %(lat)s)"
            " ON CONFLICT (workspace_id, slot, provider, model) DO UPDATE SET calls = u.calls + 1,"
            " first_attempts = u.first_attempts + EXCLUDED.first_attempts, ok_calls = u.ok_calls + EXCLUDED.ok_calls,"
            " fallbacks = u.fallbacks + EXCLUDED.fallbacks, input_tokens = u.input_tokens + EXCLUDED.input_tokens,"
            " output_tokens = u.output_tokens + EXCLUDED.output_tokens,"
            " cache_read_tokens = u.cache_read_tokens + EXCLUDED.cache_read_tokens,"
            " cache_write_tokens = u.cache_write_tokens + EXCLUDED.cache_write_tokens,"
            " cost_usd = u.cost_usd + EXCLUDED.cost_usd,"
            " unknown_cost_calls = u.unknown_cost_calls + EXCLUDED.unknown_cost_calls,"
            " ttft_ms_sum = u.ttft_ms_sum + EXCLUDED.ttft_ms_sum, ttft_count = u.ttft_count + EXCLUDED.ttft_count,"
            " latency_ms_sum = u.latency_ms_sum + EXCLUDED.latency_ms_sum"
        )

    @staticmethod
    def fold(view: TrackedView) -> Any:
        """This projection's handlers as a fold over a page of events (fold.py)."""
        return AnalyticsFold(view)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of a subscribed topic without a handler is a bug: stop here rather than skip it."""
        raise TypeError(
            f"{self.name}: no handler for {type(domain_event).__qualname__} at position {tracking.notification_id}"
        )

    @process_event.register
    def _(self, e: Conversation.Started, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {self.view.table('conversations')} (id, workspace_id, visitor_id, channel,"
                    " started_at, last_activity_at, status, version)"
                    " VALUES (%(id)s, %(ws)s, %(visitor)s, %(ch)s, %(at)s, %(at)s, 'open', %(v)s)",
                    {
                        "id": e.originator_id,
                        "ws": e.workspace_id,
                        "visitor": e.personal.get("user_id"),
                        "ch": e.channel,
                        "at": e.timestamp,
                        "v": e.originator_version,
                    },
                )
            ],
        )

    @process_event.register
    def _(self, e: Conversation.PersonalDataErased, tracking: Tracking) -> None:
        """The conversation's key was destroyed (ADR 0044): its visitor id reads "[erased]", as a rebuild reads it."""
        sql = (
            f"UPDATE {self.view.table('conversations')} SET"
            " visitor_id = CASE WHEN visitor_id IS NULL THEN NULL ELSE %(erased)s END WHERE id = %(id)s"
        )
        self.view.apply(tracking, [(sql, {"id": e.originator_id, "erased": ERASED})])

    @process_event.register
    def _(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        stmt = self._update(
            e,
            "turns = turns + 1, status = 'open', resolved = false,"
            " first_message_id = coalesce(first_message_id, %(mid)s::text),"
            " first_message_us = coalesce(first_message_us, %(us)s::bigint),"
            " pending = pending || jsonb_build_object(%(mid)s::text, %(us)s::bigint)",
            mid=e.message_id,
            us=micros(e.timestamp),
        )
        self.view.apply(tracking, [stmt])

    @process_event.register
    def _(self, e: Conversation.ModelCallMade, tracking: Tracking) -> None:
        tokens = {
            "i": e.input_tokens,
            "o": e.output_tokens,
            "cr": e.cache_read_tokens,
            "cw": e.cache_write_tokens,
            "cost": e.cost_usd or 0,
            "unknown": 0 if e.cost_known else 1,
            "fb": 1 if e.outcome == "fell_back" else 0,
        }
        ok = e.outcome == "ok"
        facts = {
            **tokens,
            "ws": e.workspace_id,
            "p": e.provider,
            "m": e.model,
            "first": 1 if e.attempt == 1 else 0,
            "ok": 1 if ok else 0,
            # response times are of successful calls only: a failed attempt's timing says little
            "ttft": float(e.ttft_ms) if ok and e.ttft_ms is not None else 0.0,
            "ttft_n": 1 if ok and e.ttft_ms is not None else 0,
            "lat": float(e.latency_ms) if ok else 0.0,
        }
        slots = (self._usage_upsert("usage_slots"), {**facts, "slot": slot_of(e.timestamp)})
        hourly = (self._usage_upsert("usage_hourly"), {**facts, "slot": slot_of(e.timestamp, HOUR)})
        conversation = (
            f"UPDATE {self.view.table('conversations')} SET model_calls = model_calls + 1,"
            " fallbacks = fallbacks + %(fb)s, input_tokens = input_tokens + %(i)s,"
            " output_tokens = output_tokens + %(o)s, cache_read_tokens = cache_read_tokens + %(cr)s,"
            " cache_write_tokens = cache_write_tokens + %(cw)s, cost_usd = cost_usd + %(cost)s,"
            " unknown_cost_calls = unknown_cost_calls + %(unknown)s, prompt_version = %(pv)s,"
            " call_provider = %(p)s, call_model = %(m)s, version = %(v)s WHERE id = %(id)s",
            {
                **tokens,
                "pv": e.prompt_version,
                "p": e.provider,
                "m": e.model,
                "v": e.originator_version,
                "id": e.originator_id,
            },
        )
        self.view.apply(tracking, [conversation, slots, hourly])

    @process_event.register
    def _(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        stmt = self._update(
            e,
            "replies = replies + 1,"
            " reply_latency_ms_sum = reply_latency_ms_sum"
            " + coalesce((%(us)s::bigint - (pending ->> %(rt)s::text)::bigint) / 1000.0, 0)::double precision,"
            " first_response_ms = CASE WHEN first_message_id = %(rt)s::text AND first_response_ms IS NULL"
            " THEN ((%(us)s::bigint - first_message_us) / 1000.0)::double precision ELSE first_response_ms END,"
            " pending = pending - %(rt)s::text, topic = %(topic)s, confidence_sum = confidence_sum + %(c)s,"
            " last_confidence = %(c)s, last_provider = %(p)s, last_model = %(m)s, last_prompt_version = %(pv)s,"
            " prompt_version = %(pv)s, ai_replies = ai_replies + %(ai)s,"
            " ai_confidence_sum = ai_confidence_sum + %(ai)s * %(c)s,"
            " ai_provider = CASE WHEN %(ai)s = 1 THEN %(p)s ELSE ai_provider END,"
            " ai_model = CASE WHEN %(ai)s = 1 THEN %(m)s ELSE ai_model END",
            us=micros(e.timestamp),
            ai=0 if e.provider == ESCALATION_PROVIDER else 1,
            rt=e.reply_to,
            topic=e.topic,
            c=float(e.confidence),
            p=e.provider,
            m=e.model,
            pv=e.prompt_version,
        )
        self.view.apply(tracking, [stmt])

    @process_event.register
    def _(self, e: Conversation.TurnFailed, tracking: Tracking) -> None:
        stmt = self._update(e, "failed_turns = failed_turns + 1, pending = pending - %(rt)s::text", rt=e.reply_to)
        self.view.apply(tracking, [stmt])

    @process_event.register
    def _(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        stmt = self._update(
            e, "status = 'resolved', resolved = true, resolved_by = %(by)s, resolved_at = %(at)s", by=e.by
        )
        self.view.apply(tracking, [stmt])

    @process_event.register
    def _(self, e: Conversation.Closed, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, "status = 'closed', closed_at = %(at)s")])

    @process_event.register
    def _(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, "csat = %(s)s", s=e.score)])

    @process_event.register
    def _(self, e: Conversation.Escalated, tracking: Tracking) -> None:
        stmt = self._update(
            e,
            "escalations = escalations + 1, escalated_at = coalesce(escalated_at, %(at)s), topic = %(topic)s",
            topic=e.topic,
        )
        self.view.apply(tracking, [stmt])

    @process_event.register
    def _(self, e: Conversation.EscalationOffered, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, "escalation_offers = escalation_offers + 1")])

    @process_event.register
    def _(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, "agent_involved = true")])

    @process_event.register
    def _(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        # an agent's answer settles every visitor message still waiting (Conversation.agent_reply)
        self.view.apply(tracking, [self._update(e, "agent_involved = true, pending = '{}'::jsonb")])

    @process_event.register
    def _(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, "topic = %(topic)s", topic=e.topic)])

    @process_event.register
    def _(self, e: Workspace.Created, tracking: Tracking) -> None:
        budget = e.settings.get("monthly_token_budget", WorkspaceSettings.monthly_token_budget)
        self.view.apply(tracking, [self._budget(e.originator_id, int(budget))])

    @process_event.register
    def _(self, e: Workspace.SettingsChanged, tracking: Tracking) -> None:
        budget = e.changes.get("monthly_token_budget")
        self.view.apply(tracking, [] if budget is None else [self._budget(e.originator_id, int(budget))])

    @process_event.register
    def _(self, e: AppSettings.Changed, tracking: Tracking) -> None:
        sets = {k: e.changes[k] for k in ("time_zone", "analytics_retention_days") if k in e.changes}
        if not sets:
            self.view.apply(tracking, [])
            return
        stmt = (
            f"UPDATE {self.view.table('workspaces')} SET time_zone = coalesce(%(tz)s, time_zone),"
            " retention_days = coalesce(%(days)s, retention_days) WHERE settings_id = %(id)s",
            {"tz": sets.get("time_zone"), "days": sets.get("analytics_retention_days"), "id": e.originator_id},
        )
        self.view.apply(tracking, [stmt])
