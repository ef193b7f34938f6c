"""Figures per prompt version and per model, the escalated feed, and days and hours in the workspace's time zone:
known conversations through the command path (tests/support/turns.py), then the exact figures over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatassist.bootstrap import Container
from read_api.get_overview.query import get_overview
from tests.support.accounts import Person, sign_up
from tests.support.turns import Turns, call, price

SONNET, GPT = ("claude-sonnet-4-6", "anthropic"), ("gpt-4o", "openai")
KOLKATA = "Asia/Kolkata"  # UTC+05:30: a local day boundary falls at 18:30 UTC, inside a UTC day


def get(client: httpx.Client, who: Person, path: str, **params: Any) -> dict[str, Any]:
    """GET an analytics endpoint as ``who``, asserting a 200."""
    response = client.get(f"/api/analytics/{path}", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Versions:
    """A workspace whose conversations answered with two prompt versions and two models."""

    admin: Person
    ids: dict[str, UUID]


@pytest.fixture(scope="module")
def versions(ai_server: Any, container: Container) -> Versions:
    """Given, with prompt version 1 on Sonnet:
    one: answered (confidence 0.8), resolved by the visitor, CSAT 5 (AI-resolved);
    two: answered (0.6), then the visitor asks for a person (escalated), later resolved and closed (not AI-resolved);
    five: answered (0.9), an agent claims it, resolved (not AI-resolved);
    and with prompt version 2 on GPT-4o:
    three: answered (0.5), resolved, CSAT 3 (AI-resolved);
    four: a legal threat escalates at once, no model called, closed."""
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Breakdowns")
    t = Turns(container.app, admin.workspace_id)
    ids: dict[str, UUID] = {}
    ids["one"], m = t.message("How do I reset my password?")
    t.answer(ids["one"], m, call(*SONNET, 1, 1000, 100), 0.8)
    t.resolve(ids["one"])
    t.rate(ids["one"], 5)
    ids["two"], m = t.message("Where are my invoices?")
    t.answer(ids["two"], m, call(*SONNET, 1, 1000, 100), 0.6)
    texts = ["Where are my invoices?", "I want to talk to a human"]
    _, m = t.message(texts[1], ids["two"])
    assert t.escalate(ids["two"], m, texts, 1) == "human_requested"
    t.resolve(ids["two"])
    t.close(ids["two"])
    ids["five"], m = t.message("How do I add seats?")
    t.answer(ids["five"], m, call(*SONNET, 1, 1000, 100), 0.9)
    t.claim(ids["five"], "agent-7")
    t.resolve(ids["five"])
    ids["three"], m = t.message("How do I create an API key?")
    t.answer(ids["three"], m, call(*GPT, 2, 1000, 100), 0.5)
    t.resolve(ids["three"])
    t.rate(ids["three"], 3)
    texts = ["If this is not fixed today I will contact my lawyer"]
    ids["four"], m = t.message(texts[0])
    assert t.escalate(ids["four"], m, texts, 2) == "p1_legal"
    t.close(ids["four"])
    container.wait_for_projections()
    return Versions(admin, ids)


def test_per_prompt_version(versions: Versions, client: httpx.Client) -> None:
    body = get(client, versions.admin, "prompt-versions")
    today = datetime.now(UTC).date()
    assert (body["from"], body["to"], body["by"], body["time_zone"]) == (
        (today - timedelta(days=29)).isoformat(), today.isoformat(), "prompt_version", "UTC"
    )  # fmt: skip
    v1_cost, v2_cost = price(SONNET[0], 1000, 100) * 3, price(GPT[0], 1000, 100)
    assert (v1_cost, v2_cost) == (Decimal("0.0135"), Decimal("0.0035"))
    v1, v2 = body["rows"]
    assert v1 == {
        "prompt_version": 1, "conversations": 3, "finished": 3, "ai_resolved": 1, "resolution_rate": 1 / 3,
        "escalated": 1, "escalation_rate": 1 / 3, "avg_confidence": pytest.approx((0.8 + 0.6 + 0.9) / 3),
        "avg_csat": 5.0, "rated": 1, "cost_usd": "0.0135", "unknown_cost_calls": 0,
        "cost_per_conversation": "0.0045", "cost_per_ai_resolved": "0.0135",
    }  # fmt: skip
    assert v2 == {
        "prompt_version": 2, "conversations": 2, "finished": 2, "ai_resolved": 1, "resolution_rate": 0.5,
        "escalated": 1, "escalation_rate": 0.5, "avg_confidence": 0.5, "avg_csat": 3.0, "rated": 1,
        "cost_usd": "0.0035", "unknown_cost_calls": 0, "cost_per_conversation": "0.00175",
        "cost_per_ai_resolved": "0.0035",
    }  # fmt: skip


def test_per_model(versions: Versions, client: httpx.Client) -> None:
    rows = get(client, versions.admin, "models")["rows"]
    # most conversations first; the one no model answered (escalated at once) counts for no model
    assert [(r["provider"], r["model"], r["conversations"]) for r in rows] == [
        ("anthropic", "claude-sonnet-4-6", 3), ("openai", "gpt-4o", 1), (None, None, 1)
    ]  # fmt: skip
    sonnet, gpt, none = rows
    assert (sonnet["ai_resolved"], sonnet["escalated"], sonnet["cost_per_ai_resolved"]) == (1, 1, "0.0135")
    assert (gpt["resolution_rate"], gpt["escalation_rate"], gpt["cost_per_conversation"]) == (1.0, 0.0, "0.0035")
    assert (none["escalated"], none["avg_confidence"], none["cost_usd"], none["cost_per_ai_resolved"]) == (
        1, None, "0", None
    )  # fmt: skip


def test_escalations_in_the_feed_and_ai_resolution_everywhere(versions: Versions, client: httpx.Client) -> None:
    feed = get(client, versions.admin, "activity", filter="escalated")
    assert {i["id"] for i in feed["items"]} == {str(versions.ids["two"]), str(versions.ids["four"])}
    assert feed["counters"]["escalated"] == 2
    # resolved by the AI without a person: one and three of the five (two escalated, five was claimed)
    usage = get(client, versions.admin, "usage")
    assert (usage["conversations"], usage["resolution_rate"]) == (5, 2 / 5)
    topics = get(client, versions.admin, "topics")
    assert sum(t["ai_resolved_rate"] * t["conversations"] for t in topics["topics"]) == pytest.approx(2)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("prompt-versions", {"from": "2026-13-01"}, "invalid_date_range"),
        ("models", {"from": "2026-03-02", "to": "2026-03-01"}, "invalid_date_range"),
        ("models", {"from": "2000-01-01", "to": "2000-12-31"}, "outside_retention"),
    ],
)
def test_bad_ranges_of_the_breakdowns(
    versions: Versions, client: httpx.Client, path: str, params: dict[str, str], code: str
) -> None:
    response = client.get(f"/api/analytics/{path}", params=params, headers=versions.admin.headers)
    assert response.status_code == 422 and response.json()["code"] == code, response.text


@dataclass
class Zoned:
    """A workspace in Asia/Kolkata with a conversation just before and one just after a local midnight."""

    admin: Person
    before: datetime
    after: datetime


@pytest.fixture(scope="module")
def zoned(ai_server: Any, container: Container) -> Zoned:
    """Given a workspace in Asia/Kolkata, three days ago at 23:50 and at 00:10 local time (both 18:xx UTC, the same
    UTC day) a conversation answered by Sonnet."""
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as client:
        admin, _ = sign_up(client, workspace="Zoned")
        response = client.patch("/api/settings", json={"time_zone": KOLKATA}, headers=admin.headers)
        assert response.status_code == 200, response.text
    zone = ZoneInfo(KOLKATA)
    midnight = datetime.combine(datetime.now(zone).date() - timedelta(days=3), time(), zone)
    before, after = midnight - timedelta(minutes=10), midnight + timedelta(minutes=10)
    assert before.astimezone(UTC).date() == after.astimezone(UTC).date()
    t = Turns(container.app, admin.workspace_id)
    for at, tokens in ((before, 1000), (after, 2000)):
        conversation, message = t.message("How do I reset my password?", at=at)
        t.answer(conversation, message, call(*SONNET, 1, tokens, 100), 0.7, at=at + timedelta(seconds=2))
    container.wait_for_projections()
    return Zoned(admin, before, after)


def test_days_are_cut_in_the_workspace_time_zone(zoned: Zoned, client: httpx.Client) -> None:
    first, second = zoned.before.date(), zoned.after.date()
    body = get(client, zoned.admin, "usage", **{"from": first.isoformat(), "to": second.isoformat()})
    assert body["daily"] == [
        {"day": first.isoformat(), "conversations": 1, "resolved": 0, "tokens": 1100,
         "cost_usd": format(price(SONNET[0], 1000, 100).normalize(), "f")},
        {"day": second.isoformat(), "conversations": 1, "resolved": 0, "tokens": 2100,
         "cost_usd": format(price(SONNET[0], 2000, 100).normalize(), "f")},
    ]  # fmt: skip
    only_second = get(client, zoned.admin, "topics", **{"from": second.isoformat(), "to": second.isoformat()})
    assert only_second["conversations"] == 1


def test_overview_today_and_hours_in_the_workspace_time_zone(
    zoned: Zoned, client: httpx.Client, container: Container
) -> None:
    body = get(client, zoned.admin, "overview")
    assert (body["time_zone"], body["day"]) == (KOLKATA, datetime.now(ZoneInfo(KOLKATA)).date().isoformat())
    assert container.analytics is not None
    overview = get_overview(container.analytics, UUID(zoned.admin.workspace_id), day=zoned.after.date())
    assert (overview.conversations.value, overview.conversations.previous) == (1, 1)
    assert [(h.hour, h.conversations, h.previous) for h in overview.hourly if h.conversations or h.previous] == [
        (0, 1, 0), (23, 0, 1)
    ]  # fmt: skip
    assert overview.tokens_today.value == 2100 and overview.tokens_today.previous == 1100


def test_a_range_before_the_retention_window_is_refused(
    zoned: Zoned, client: httpx.Client, container: Container
) -> None:
    # Given the workspace keeps 30 days of analytics
    response = client.patch("/api/settings", json={"analytics_retention_days": 30}, headers=zoned.admin.headers)
    assert response.status_code == 200, response.text
    container.wait_for_projections()  # the setting reaches the analytics view through its projection
    today = datetime.now(ZoneInfo(KOLKATA)).date()
    oldest = (today - timedelta(days=30)).isoformat()
    too_old = (today - timedelta(days=31)).isoformat()
    # I expect a range from the window's first day answered, and one a day earlier refused with its code
    response = client.get("/api/analytics/usage", params={"from": too_old}, headers=zoned.admin.headers)
    assert response.status_code == 422 and response.json()["code"] == "outside_retention", response.text
    assert oldest in response.json()["message"]
    assert get(client, zoned.admin, "usage", **{"from": oldest})["from"] == oldest


def test_the_analytics_endpoints_are_in_the_openapi_schema(client: httpx.Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    ids = {
        name: paths[f"/api/analytics/{name}"]["get"]["operationId"]
        for name in ("overview", "activity", "usage", "topics", "prompt-versions", "models")
    }
    assert ids["prompt-versions"] == "getAnalyticsByPromptVersion" and ids["models"] == "getAnalyticsByModel"
    assert len(set(ids.values())) == 6
    params = {p["name"] for p in paths["/api/analytics/models"]["get"].get("parameters", [])}
    assert params == {"from", "to"}
