"""GetProviderLatency: per provider, the average latency of its successful model calls over the last days, from
the analytics view's hourly model-call rollup (the same figures as the usage screen's)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import msgspec

from projections.analytics.projection import USAGE_HOURLY
from read_api._reads import Planned, Rows

DAYS = 30


class ProviderLatency(msgspec.Struct):
    """One provider's successful calls and their mean latency (ms; null without a successful call)."""

    provider: str
    ok_calls: int
    avg_latency_ms: float | None


def plan_provider_latency(workspace_id: UUID, days: int = DAYS) -> Planned[dict[str, ProviderLatency]]:
    """One statement: the per-provider sums of the last ``days`` days; answers by provider name."""
    since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    sql = (
        "SELECT provider, sum(ok_calls) AS ok, sum(latency_ms_sum) AS latency"
        f" FROM {USAGE_HOURLY} WHERE workspace_id = %(ws)s AND slot >= %(since)s GROUP BY provider"
    )

    def assemble(rows: list[Rows]) -> dict[str, ProviderLatency]:
        out = {}
        for r in rows[0]:
            ok = int(r["ok"] or 0)
            out[r["provider"]] = ProviderLatency(r["provider"], ok, float(r["latency"]) / ok if ok else None)
        return out

    return Planned([(sql, {"ws": workspace_id, "since": since})], assemble)
