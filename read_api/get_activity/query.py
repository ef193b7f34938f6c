"""GetActivity: the live activity feed, recent conversations with counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import InvalidInput
from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import (
    AnalyticsSource,
    WorkspaceFacts,
    midnight,
    with_facts,
)
from read_api._reads import Planned, Reads, Rows, Statement, drive

FILTERS = ("all", "escalated", "resolved", "pending")
MAX_LIMIT, DEFAULT_LIMIT = 200, 50
ACTIVE_WINDOW = timedelta(minutes=5)
_WHERE = {"all": "true", "resolved": "resolved", "pending": "status = 'open'", "escalated": "escalations > 0"}


class ActivityItem(msgspec.Struct):
    """One conversation of the feed."""

    id: UUID
    started_at: datetime
    last_activity_at: datetime
    visitor_id: str | None
    topic: str | None
    turns: int
    csat: int | None
    confidence: float | None
    """The AI's confidence: the mean of the confidences of the replies a model wrote (None when the AI wrote none).
    An escalation's holding message carries the rule's certainty (1.0), not the AI's, so it is left out."""
    status: str
    resolved: bool
    escalated: bool = False
    """A rule handed the conversation to a person at least once."""
    agent_involved: bool = False
    """A person claimed it or replied."""
    summary: str = ""
    """One line for the feed: what became of the conversation ("Escalated to human agent", ...)."""
    outcome: str = ""
    """For the feed's badge: resolved, escalated (and not resolved yet), open or closed (without a resolution)."""


class ActivityCounters(msgspec.Struct):
    """Active now (open, activity in the last 5 minutes); escalated (first escalated today), resolved and average
    CSAT of today, in the workspace's time zone."""

    active_now: int
    escalated: int
    resolved_today: int
    avg_csat_today: float | None


class Activity(msgspec.Struct):
    """The newest conversations first, under the filter asked for, with the counters."""

    filter: str
    items: list[ActivityItem]
    counters: ActivityCounters


def check_activity_input(filter_: str, limit: int) -> None:
    """422 unknown_filter / limit_too_large (or invalid_limit) for a request the feed cannot answer."""
    if filter_ not in FILTERS:
        raise InvalidInput(f"filter must be one of {', '.join(FILTERS)}, got {filter_[:40]!r}.", code="unknown_filter")
    if limit > MAX_LIMIT:
        raise InvalidInput(f"limit is {limit}; the largest page is {MAX_LIMIT}.", code="limit_too_large")
    if limit < 1:
        raise InvalidInput("limit must be at least 1.", code="invalid_limit")


def get_activity(
    view: AnalyticsSource, workspace_id: UUID, filter_: str = "all", limit: int = DEFAULT_LIMIT
) -> Activity:
    """Recent conversations of one workspace, newest activity first."""
    return drive(view, activity_reads(workspace_id, filter_, limit))


def activity_reads(workspace_id: UUID, filter_: str = "all", limit: int = DEFAULT_LIMIT) -> Reads[Activity]:
    """The read of ``get_activity``, for either driver (read_api/_reads.py); 422 at once on bad input."""
    check_activity_input(filter_, limit)
    return with_facts(workspace_id, lambda facts: plan_activity(workspace_id, facts, filter_, limit))


def plan_activity(workspace_id: UUID, facts: WorkspaceFacts, filter_: str, limit: int) -> Planned[Activity]:
    """The two reads of ``get_activity`` (sent together) and how they make the feed."""
    check_activity_input(filter_, limit)
    items = (
        "SELECT id, started_at, last_activity_at, visitor_id, topic, turns, csat,"
        " CASE WHEN ai_replies > 0 THEN ai_confidence_sum / ai_replies END AS confidence, status, resolved,"
        f" escalations > 0 AS escalated, agent_involved FROM {CONVERSATIONS}"
        f" WHERE workspace_id = %(ws)s AND {_WHERE[filter_]}"
        " ORDER BY last_activity_at DESC, id LIMIT %(limit)s"
    )
    since = midnight(facts.today(), facts.time_zone)
    counts = (
        "SELECT count(*) FILTER (WHERE status = 'open' AND last_activity_at >= now() - %(active)s) AS active,"
        " count(*) FILTER (WHERE escalated_at >= %(since)s) AS escalated_today,"
        " count(*) FILTER (WHERE resolved AND resolved_at >= %(since)s) AS resolved_today,"
        " avg(csat) FILTER (WHERE started_at >= %(since)s)::float AS avg_csat"
        f" FROM {CONVERSATIONS} WHERE workspace_id = %(ws)s"
        " AND (last_activity_at >= %(since)s OR last_activity_at >= now() - %(active)s)"
    )
    statements: list[Statement] = [
        (items, {"ws": workspace_id, "limit": limit}),
        (counts, {"ws": workspace_id, "since": since, "active": ACTIVE_WINDOW}),
    ]
    return Planned(statements, lambda rows: _activity(filter_, rows[0], rows[1][0]))


def summary_of(row: dict[str, Any]) -> str:
    """What became of a conversation, in a few words."""
    topic = row["topic"] if row["topic"] not in (None, "Other") else "Question"
    if row["resolved"]:
        by_ai = not row["escalated"] and not row["agent_involved"]
        return f"{topic} resolved by AI" if by_ai else f"{topic} resolved by a human agent"
    if row["status"] == "closed":
        return "Closed without a resolution"
    if row["escalated"]:
        return "Escalated to human agent"
    if row["agent_involved"]:
        return "A human agent is answering"
    return "The AI is answering"


def outcome_of(row: dict[str, Any]) -> str:
    """resolved, escalated, open or closed: what the feed's badge says."""
    if row["resolved"]:
        return "resolved"
    if row["escalated"] and row["status"] != "closed":
        return "escalated"
    return "open" if row["status"] == "open" else "closed"


def _activity(filter_: str, rows: Rows, counts: dict[str, Any]) -> Activity:
    return Activity(
        filter=filter_,
        items=[ActivityItem(**r, summary=summary_of(r), outcome=outcome_of(r)) for r in rows],
        counters=ActivityCounters(
            active_now=int(counts["active"]),
            escalated=int(counts["escalated_today"]),
            resolved_today=int(counts["resolved_today"]),
            avg_csat_today=counts["avg_csat"],
        ),
    )
