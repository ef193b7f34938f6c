"""chatassist seed: demo conversations through the command path, over past days; the dashboards then show them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import cmd_seed, parser
from chatassist.seed import SeedPlan, demo_filler, seed
from tests.conftest import stored_events
from tests.support.accounts import sign_up

N, DAYS = 60, 20


def test_a_new_demo_workspace_with_history(container: Container) -> None:
    # When the seeder writes 25 conversations over the last 10 days into a new workspace
    now = datetime.now(UTC)
    result = seed(container.app, SeedPlan(25, days=10, random_seed=3))
    # I expect the workspace, its key, three prompt versions, and every conversation's events stored
    assert result.conversations == 25 and result.widget_key.startswith("wk_")
    assert result.prompt_versions == [1, 2, 3]
    container.wait_for_projections()
    assert container.analytics is not None
    rows = container.analytics.query(
        "SELECT id, started_at FROM analytics_v2_conversations WHERE workspace_id = %s", (result.workspace_id,)
    )
    assert len(rows) == 25
    events = [e for r in rows for e in stored_events(container, r["id"])]
    assert len(events) == result.events
    # with historical timestamps: spread over the period, in order within each conversation, none in the future
    assert min(r["started_at"] for r in rows) < now - timedelta(days=3)
    assert all(now - timedelta(days=10, minutes=1) <= e.timestamp <= datetime.now(UTC) for e in events)
    by_conversation: dict[UUID, list[datetime]] = {}
    for e in events:
        by_conversation.setdefault(e.originator_id, []).append(e.timestamp)
    assert all(ts == sorted(ts) for ts in by_conversation.values())


def get(client: httpx.Client, headers: dict[str, str], path: str, **params: Any) -> dict[str, Any]:
    """GET an analytics endpoint, asserting a 200."""
    response = client.get(f"/api/analytics/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_seeding_a_workspace_gives_living_consistent_dashboards(
    container: Container, client: httpx.Client, capsys: Any
) -> None:
    # Given a signed-up workspace
    admin, _ = sign_up(client, workspace="Seeded")
    # When its admin seeds 60 conversations over 20 days with the CLI command
    args = parser().parse_args(
        ["seed", "--conversations", str(N), "--workspace", admin.workspace_id, "--days", str(DAYS), "--json",
         "--random-seed", "11"]
    )  # fmt: skip
    assert args.fn is cmd_seed
    args.fn(container.settings, args)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["workspace_id"] == admin.workspace_id and printed["conversations"] == N
    assert printed["events"] >= 3 * N  # at least a start, a message and an answer or escalation each
    container.wait_for_projections(timeout=60)
    # I expect every dashboard to show them, with figures that agree with each other
    h = admin.headers
    start = (datetime.now(UTC).date() - timedelta(days=DAYS)).isoformat()
    usage = get(client, h, "usage", **{"from": start})
    assert usage["conversations"] == N
    assert sum(d["conversations"] for d in usage["daily"]) == N
    assert len([d for d in usage["daily"] if d["conversations"]]) >= DAYS // 2  # spread over the period
    assert usage["model_calls"] > N // 2 and usage["tokens"]["total"] > 0 and float(usage["cost_usd"]) > 0
    assert sum(d["tokens"] for d in usage["daily"]) == usage["tokens"]["total"]
    assert {m["model"] for m in usage["by_model"]} >= {"claude-sonnet-4-6"}
    topics = get(client, h, "topics", **{"from": start})
    assert sum(t["conversations"] for t in topics["topics"]) == N and len(topics["topics"]) >= 3
    assert topics["rated"] > 0 and 1 <= topics["avg_csat"] <= 5
    versions = get(client, h, "prompt-versions", **{"from": start})["rows"]
    assert sum(r["conversations"] for r in versions) == N
    models = get(client, h, "models", **{"from": start})["rows"]
    assert sum(r["conversations"] for r in models) == N
    assert sum(r["escalated"] for r in models) == sum(r["escalated"] for r in versions) > 0
    assert sum(r["ai_resolved"] for r in models) > 0
    total = sum(float(r["cost_usd"]) for r in models)
    assert abs(total - float(usage["cost_usd"])) < 1e-6 * N  # the same calls, counted by conversation or by day
    feed = get(client, h, "activity", filter="escalated", limit=200)
    assert len(feed["items"]) == sum(r["escalated"] for r in models)


@pytest.mark.parametrize(
    ("time_zone", "now"),
    [
        ("UTC", datetime(2026, 12, 6, 0, 2, tzinfo=UTC)),  # a Sunday, two minutes after midnight
        ("Asia/Tokyo", datetime(2026, 12, 5, 15, 1, tzinfo=UTC)),  # 00:01 on Sunday in Tokyo, still Saturday in UTC
    ],
)
def test_fill_demo_data_gives_both_today_and_yesterday_figures(
    container: Container, client: httpx.Client, time_zone: str, now: datetime
) -> None:
    # Given a workspace in a time zone, and "Fill demo data" clicked just after its midnight on a quiet Sunday
    admin, _ = sign_up(client, workspace="Demo")
    response = client.patch("/api/settings", json={"time_zone": time_zone}, headers=admin.headers)
    assert response.status_code == 200, response.text
    fill = demo_filler(container.app, conversations=0, days=1, last_day=6, clock=lambda: now)
    # When it fills
    assert fill(UUID(admin.workspace_id)) == 6
    container.wait_for_projections()
    # I expect three conversations on the workspace's yesterday and three on its today, none after "now"
    assert container.analytics is not None
    rows = container.analytics.query(
        "SELECT started_at FROM analytics_v2_conversations WHERE workspace_id = %s", (admin.workspace_id,)
    )
    zone = ZoneInfo(time_zone)
    days = sorted(r["started_at"].astimezone(zone).date().isoformat() for r in rows)
    assert days == ["2026-12-05"] * 3 + ["2026-12-06"] * 3
    assert all(r["started_at"] <= now for r in rows)
