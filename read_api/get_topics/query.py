"""GetTopics: volume, AI resolution, turns and CSAT per topic, and overall, over a range of days (workspace zone)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import (
    AI_RESOLVED,
    AnalyticsSource,
    DateRange,
    date_range,
    ratio,
    with_facts,
)
from read_api._reads import Planned, Reads, Rows, drive, run

UNCLASSIFIED = "Unclassified"  # conversations without any reply have no topic yet


class TopicRow(msgspec.Struct):
    """One topic (the topic of the conversation's last reply)."""

    topic: str
    conversations: int
    ai_resolved_rate: float | None
    avg_turns: float | None
    avg_csat: float | None
    rated: int


class Topics(msgspec.Struct):
    """Topics and CSAT of the conversations started in the range."""

    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    conversations: int = 0
    avg_csat: float | None = None
    rated: int = 0
    first_contact_resolution_rate: float | None = None
    median_first_response_ms: float | None = None
    avg_turns: float | None = None
    topics: list[TopicRow] = msgspec.field(default_factory=list)


AGGREGATES = (
    f"count(*) AS n, count(*) FILTER (WHERE {AI_RESOLVED}) AS resolved, avg(turns)::float AS avg_turns,"
    " avg(csat)::float AS avg_csat, count(csat) AS rated"
)


def get_topics_between(view: AnalyticsSource, workspace_id: UUID, start: str | None, end: str | None) -> Topics:
    """Topics of one workspace over ``from``/``to`` as given (validated in its time zone and retention window)."""
    return drive(view, topics_between(workspace_id, start, end))


def topics_between(workspace_id: UUID, start: str | None, end: str | None) -> Reads[Topics]:
    """The read of ``get_topics_between``, for either driver (read_api/_reads.py)."""
    return with_facts(workspace_id, lambda facts: plan_topics(workspace_id, date_range(start, end, facts=facts)))


def get_topics(view: AnalyticsSource, workspace_id: UUID, days: DateRange) -> Topics:
    """Per topic, largest first (then by name), and the overall figures."""
    return run(view, plan_topics(workspace_id, days))


def plan_topics(workspace_id: UUID, days: DateRange) -> Planned[Topics]:
    """The two reads of ``get_topics`` (sent together) and how they make the figures."""
    params = {"ws": workspace_id, "since": days.since, "until": days.until, "none": UNCLASSIFIED}
    where = f"FROM {CONVERSATIONS} WHERE workspace_id = %(ws)s AND started_at >= %(since)s AND started_at < %(until)s"
    per_topic = f"SELECT coalesce(topic, %(none)s::text) AS topic, {AGGREGATES} {where} GROUP BY 1 ORDER BY n DESC, 1"
    overall = (
        f"SELECT {AGGREGATES}, count(*) FILTER (WHERE status <> 'open') AS finished,"
        f" count(*) FILTER (WHERE {AI_RESOLVED} AND turns = 1) AS first_contact,"
        f" percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_ms) AS median_ms {where}"
    )
    return Planned([(per_topic, params), (overall, params)], lambda rows: _topics(days, rows[0], rows[1][0]))


def _topics(days: DateRange, rows: Rows, overall: dict[str, Any]) -> Topics:
    return Topics(
        start=days.start,
        end=days.end,
        conversations=int(overall["n"]),
        avg_csat=overall["avg_csat"],
        rated=int(overall["rated"]),
        first_contact_resolution_rate=ratio(int(overall["first_contact"]), int(overall["finished"])),
        median_first_response_ms=overall["median_ms"],
        avg_turns=overall["avg_turns"],
        topics=[
            TopicRow(
                r["topic"],
                int(r["n"]),
                ratio(int(r["resolved"]), int(r["n"])),
                r["avg_turns"],
                r["avg_csat"],
                int(r["rated"]),
            )
            for r in rows
        ],
    )
