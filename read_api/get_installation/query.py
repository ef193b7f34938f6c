"""GetInstallation: what this installation's conversations of the last 30 days say, across every workspace (no
workspace is named; only totals), for the public landing page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from projections.analytics.projection import CONVERSATIONS
from read_api._analytics import AI_RESOLVED, ratio
from read_api._reads import Planned, Rows

WINDOW = timedelta(days=30)


class Installation(msgspec.Struct):
    """Totals of the conversations started in the last 30 days, every workspace together."""

    conversations: int
    ai_resolution_rate: float | None
    """AI-resolved ÷ finished."""
    median_first_response_ms: float | None
    avg_csat: float | None


def plan_installation(now: datetime | None = None) -> Planned[Installation]:
    """One statement over the analytics view's conversations (a scan of 30 days of every workspace: cache it)."""
    since = (now or datetime.now(UTC)) - WINDOW
    sql = (
        f"SELECT count(*) AS n, count(*) FILTER (WHERE {AI_RESOLVED}) AS resolved,"
        " count(*) FILTER (WHERE status <> 'open') AS finished, avg(csat)::float AS csat,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_ms) AS median_ms"
        f" FROM {CONVERSATIONS} WHERE started_at >= %(since)s"
    )
    return Planned([(sql, {"since": since})], lambda rows: _installation(rows[0]))


def _installation(rows: Rows) -> Installation:
    row = rows[0]
    return Installation(
        conversations=int(row["n"]),
        ai_resolution_rate=ratio(int(row["resolved"]), int(row["finished"])),
        median_first_response_ms=row["median_ms"],
        avg_csat=row["csat"],
    )
