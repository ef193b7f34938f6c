"""How the dashboards read: a dashboard's statements and the workspace's facts (time zone, retention) go in one
round trip, planned with the facts last read for the workspace. A change of those facts must still apply to the
very next read, and the live stream must carry the same figures as the endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import msgspec

from chatassist.bootstrap import Container
from read_api._analytics import date_range
from read_api.get_analytics_live.controller import figures
from read_api.get_overview.query import get_overview
from read_api.get_topics.query import get_topics_between
from read_api.get_usage.query import get_usage_between
from tests.support.accounts import sign_up
from tests.support.turns import Turns, call

ZONE = "Pacific/Kiritimati"  # UTC+14: "today" there is another UTC day for 14 hours of every day


def settings(client: httpx.Client, headers: dict[str, str], container: Container, **body: Any) -> None:
    response = client.patch("/api/settings", json=body, headers=headers)
    assert response.status_code == 200, response.text
    container.wait_for_projections()  # the facts reach the analytics view through its projection


def test_a_changed_time_zone_or_retention_applies_to_the_next_read(client: httpx.Client, container: Container) -> None:
    # Given a workspace whose dashboards were read in UTC (so its facts are remembered)
    admin, _ = sign_up(client, workspace="Facts")
    sixty_days_ago = (datetime.now(UTC).date() - timedelta(days=59)).isoformat()
    for path, params in (("overview", {}), ("models", {}), ("usage", {"from": sixty_days_ago})):
        response = client.get(f"/api/analytics/{path}", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
    assert client.get("/api/analytics/overview", headers=admin.headers).json()["time_zone"] == "UTC"
    # When its time zone changes
    settings(client, admin.headers, container, time_zone=ZONE)
    # I expect the very next reads to cut days in the new zone
    overview = client.get("/api/analytics/overview", headers=admin.headers).json()
    assert (overview["time_zone"], overview["day"]) == (ZONE, datetime.now(ZoneInfo(ZONE)).date().isoformat())
    models = client.get("/api/analytics/models", headers=admin.headers).json()
    assert (models["time_zone"], models["to"]) == (ZONE, datetime.now(ZoneInfo(ZONE)).date().isoformat())
    # When the retention shrinks to 30 days
    settings(client, admin.headers, container, analytics_retention_days=30)
    # I expect the range read a moment ago to be refused now
    refused = client.get("/api/analytics/usage", params={"from": sixty_days_ago}, headers=admin.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "outside_retention")


def test_the_live_stream_reads_the_same_figures_as_the_endpoints(client: httpx.Client, container: Container) -> None:
    # Given a workspace with an answered conversation
    admin, _ = sign_up(client, workspace="Live figures")
    t = Turns(container.app, admin.workspace_id)
    conversation, message = t.message("How do I reset my password?")
    t.answer(conversation, message, call("claude-sonnet-4-6", "anthropic", 1, 1000, 100), 0.8)
    container.wait_for_projections()
    assert container.analytics is not None
    view, ws = container.analytics, UUID(admin.workspace_id)
    # When the live stream's figures of every dashboard are read at once
    days = date_range(None, None)
    live = figures(view, ws, ("overview", "activity", "usage", "topics"), "all", 50, days)
    # I expect each to be what its own endpoint's query answers
    assert msgspec.json.encode(live["overview"]) == msgspec.json.encode(get_overview(view, ws))
    assert msgspec.json.encode(live["usage"]) == msgspec.json.encode(get_usage_between(view, ws, None, None))
    assert msgspec.json.encode(live["topics"]) == msgspec.json.encode(get_topics_between(view, ws, None, None))
    assert live["usage"].model_calls == 1 and live["topics"].conversations == 1
    activity = client.get("/api/analytics/activity", headers=admin.headers).json()
    assert [str(i.id) for i in live["activity"].items] == [i["id"] for i in activity["items"]] == [str(conversation)]
