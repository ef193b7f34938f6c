"""End to end over the real server (issue 15, screen 8): the widget takes its look, words and switches from the
workspace's settings (GET /api/widget/config), and the API honours the CSAT switch."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from chatassist.bootstrap import Container
from tests.conftest import chat, event_names
from tests.support.accounts import sign_up
from tests.support.visitors import widget_headers
from web.widget_strings import EN, STRINGS

WIDGET_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "widget.js"


def config(client: httpx.Client, widget_key: str) -> dict[str, Any]:
    """GET /api/widget/config as the widget, asserting a 200."""
    response = client.get("/api/widget/config", headers={"X-Widget-Key": widget_key})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_widget_config_follows_the_settings(client: httpx.Client, offline_client: httpx.Client) -> None:
    # Given a new workspace
    admin, body = sign_up(client, workspace="Widget settings")
    key = body["widget_key"]
    # I expect the defaults: English, the default colour, chips, the badge naming the model that answers, CSAT on
    default = config(client, key)
    assert (default["language"], default["theme_colour"]) == ("en", "#4f46e5")
    assert default["quick_replies"] == [
        "How do I connect my API?",
        "Download my invoice",
        "Reset my password",
        "Upgrade my plan",
    ]
    assert (default["show_ai_badge"], default["collect_csat"]) == (True, True)
    assert default["powered_by"] == "Claude Sonnet 4.6"  # the primary model, with a provider key configured
    assert config(offline_client, key)["powered_by"] == "ChatAssist"  # no key: the offline answerer answers
    assert default["strings"] == EN
    # When an admin changes them
    changes = {
        "widget_language": "de",
        "widget_theme_colour": "#2563eb",
        "show_ai_badge": False,
        "collect_csat": False,
        "quick_replies": ["Rechnung herunterladen", " Passwort zurücksetzen "],
    }
    changed = client.patch("/api/settings", json=changes, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    # I expect the widget to get them at once, in German
    now = config(client, key)
    assert (now["language"], now["theme_colour"], now["show_ai_badge"], now["collect_csat"]) == (
        "de",
        "#2563eb",
        False,
        False,
    )
    assert now["quick_replies"] == ["Rechnung herunterladen", "Passwort zurücksetzen"]
    assert now["strings"] == STRINGS["de"] and now["strings"]["send"] == "Senden"
    # and bad quick replies refused with a code and a sentence
    for bad in (["x" * 81], ["a", "A"], ["1", "2", "3", "4", "5", "6", "7"], "Reset"):
        refused = client.patch("/api/settings", json={"quick_replies": bad}, headers=admin.headers)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_quick_replies", refused.text
    # and no config without the widget key
    assert client.get("/api/widget/config").json()["code"] == "missing_widget_key"


def test_after_hours_the_widget_is_told_the_team_is_away_with_the_message(client: httpx.Client) -> None:
    # Given a workspace that is never open, with the after-hours auto-response on
    admin, body = sign_up(client, workspace="Away")
    closed = {day: None for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    message = "We are away; a person answers on the next working day."
    changes = {"business_hours": closed, "after_hours_auto_response": True, "after_hours_message": message}
    assert client.patch("/api/settings", json=changes, headers=admin.headers).status_code == 200
    # I expect the widget told so, with the message to show
    away = config(client, body["widget_key"])["after_hours"]
    assert away == {"away": True, "next_open_at": None, "message": message}
    # and with the auto-response off, away without a message; always open: not away
    client.patch("/api/settings", json={"after_hours_auto_response": False}, headers=admin.headers)
    assert config(client, body["widget_key"])["after_hours"] == {"away": True, "next_open_at": None, "message": None}
    open_all_day = {day: ["00:00", "23:59"] for day in closed}  # (UTC) only the minute 23:59 is after hours
    assert (
        client.patch("/api/settings", json={"business_hours": open_all_day}, headers=admin.headers).status_code == 200
    )
    before = datetime.now(UTC)
    found = config(client, body["widget_key"])["after_hours"]
    if before.strftime("%H:%M") not in ("23:58", "23:59"):
        assert found == {"away": False, "next_open_at": None, "message": None}


def test_with_csat_collection_off_a_rating_is_refused_and_nothing_stored(
    offline_client: httpx.Client, client: httpx.Client, container: Container
) -> None:
    # Given a conversation, and an admin who turned CSAT collection off
    admin, body = sign_up(client, workspace="No CSAT")
    key = body["widget_key"]
    conversation_id = chat(offline_client, key, "How do I reset my password?")[0][1]["conversation_id"]
    assert client.patch("/api/settings", json={"collect_csat": False}, headers=admin.headers).status_code == 200
    before = container.app.recorder.max_notification_id()
    # When the widget sends a rating
    url = f"/api/conversations/{conversation_id}/csat"
    refused = offline_client.post(url, json={"score": 5}, headers=widget_headers(key, conversation_id))
    # I expect a 409 csat_disabled saying why, and nothing written
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "csat_disabled" and "collect_csat" in refused.json()["message"]
    assert container.app.recorder.max_notification_id() == before
    # and with collection back on, the rating is recorded
    assert client.patch("/api/settings", json={"collect_csat": True}, headers=admin.headers).status_code == 200
    rated = offline_client.post(url, json={"score": 4}, headers=widget_headers(key, conversation_id))
    assert rated.status_code == 200 and event_names(container, conversation_id)[-1] == "CsatRated"


def test_widget_js_is_served_gzipped_within_its_size_budget(client: httpx.Client) -> None:
    # When a browser that takes gzip loads the widget
    with client.stream("GET", "/widget.js", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
        assert response.status_code == 200
        assert (response.headers["content-encoding"], response.headers["vary"]) == ("gzip", "Accept-Encoding")
    # I expect the bytes on the wire within the budget docs/widget.md states (12 KB), and the script itself whole
    assert len(raw) <= 12 * 1024, len(raw)
    assert gzip.decompress(raw) == WIDGET_JS.read_bytes()
    # and a client that does not take gzip gets it plain
    plain = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == WIDGET_JS.read_bytes()
