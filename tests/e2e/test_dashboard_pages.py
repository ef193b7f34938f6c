"""The dashboard's pages over HTTP: who may open which, what a signed-out visitor gets, the figures they show.

The browser journey is tests/e2e/test_dashboard_browser.py; these check the server's side quickly.
"""

from __future__ import annotations

import re

import httpx

from chatassist.bootstrap import Container
from chatassist.cli import demo_banner, demo_workspace
from commands.create_workspace import cmd as create_ws
from tests.conftest import chat
from tests.support.accounts import PASSWORD, invite_and_join, sign_up
from web.pages.public import _figures


def signed_in(client: httpx.Client, token: str) -> httpx.Client:
    """A client carrying the session cookie, as the browser does."""
    return httpx.Client(base_url=str(client.base_url), cookies={"ca_session": token}, timeout=20)


def test_public_pages_and_the_demo_move(client: httpx.Client) -> None:
    # Given a visitor with no session
    # When they open the landing page, the auth pages and the demo
    landing = client.get("/")
    # I expect the landing page with its two calls to action, and the widget demo at /demo
    assert landing.status_code == 200 and landing.headers["content-type"].startswith("text/html")
    assert "Start your 14-day free trial" in landing.text and 'href="/signin"' in landing.text
    assert 'href="/demo"' in landing.text
    demo = client.get("/demo")
    assert demo.status_code == 200 and 'src="/widget.js"' in demo.text
    for path, words in [
        ("/signin", "Sign in to your workspace"),
        ("/signup", "Start your 14-day free trial"),
        ("/reset-password", "Send me a reset link"),
        ("/reset-password?token=abc", "Choose a new password"),
        ("/accept-invite?token=abc", "Join the workspace"),
    ]:
        page = client.get(path)
        assert page.status_code == 200 and words in page.text, path
    # and the demo page takes a workspace's own key only when it looks like one
    assert 'data-widget-key="wk_abcdef123"' in client.get("/demo", params={"key": "wk_abcdef123"}).text
    assert '"><script' not in client.get("/demo", params={"key": '"><script>'}).text


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(client: httpx.Client) -> None:
    # When someone with no session opens a dashboard page
    response = client.get("/app/activity", params={"filter": "escalated"}, follow_redirects=False)
    # I expect a redirect to the sign-in page that returns there afterwards
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/app/activity%3Ffilter%3Descalated"
    # and an htmx request (a live update) is told to move the whole page
    htmx = client.get("/app", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/signin?next=/app")
    # while the JSON API still answers in JSON
    assert client.get("/api/analytics/overview").json()["code"] == "missing_credentials"


def test_a_new_workspace_sees_its_empty_overview_with_its_widget_tag(client: httpx.Client) -> None:
    # Given a new workspace's admin
    admin, body = sign_up(client, workspace="Empty Co")
    with signed_in(client, admin.access_token) as browser:
        # When they open the overview
        page = browser.get("/app")
        # I expect the shell (workspace, person, role) and the empty state with their own key and the seed button
        assert page.status_code == 200, page.text
        assert "Empty Co" in page.text and "Ada Admin" in page.text and "Admin" in page.text
        assert "No conversations yet" in page.text and body["widget_key"] in page.text
        assert 'action="/app/demo-data"' in page.text
        assert "Today&#39;s AI performance" in page.text or "Today's AI performance" in page.text
        # four KPI cards with nothing to compare with yet, an hourly chart of 24 bars and the quota gauge
        assert len(re.findall(r'data-kpi="', page.text)) == 4
        assert 'data-bars="24"' in page.text and 'class="gauge' in page.text
        assert 'sse-connect="/api/analytics/live?dashboards=overview' in page.text
        # and the menu shows the screens an admin may use
        for label in ("Overview", "Activity", "Monitor", "Analytics", "Topics"):
            assert f">{label}</a>" in page.text


def test_a_viewer_sees_analytics_but_not_the_monitor(client: httpx.Client) -> None:
    # Given a viewer of a workspace
    admin, _ = sign_up(client, workspace="Roles Co")
    viewer = invite_and_join(client, admin, "viewer")
    with signed_in(client, viewer.access_token) as browser:
        # When they open the overview, the analytics and the monitor
        overview = browser.get("/app")
        # I expect the analytics pages, no Monitor item in the menu, no seed button, and the monitor refused
        assert overview.status_code == 200 and ">Monitor</a>" not in overview.text
        assert 'action="/app/demo-data"' not in overview.text
        for path in ("/app/activity", "/app/usage", "/app/topics"):
            assert browser.get(path).status_code == 200, path
        refused = browser.get("/app/monitor")
        assert refused.status_code == 403 and "monitor.read" in refused.text
        assert browser.post("/app/demo-data").status_code == 403
    assert PASSWORD  # the invited viewer signed in with the shared test password


def test_the_date_range_refuses_a_bad_range_next_to_the_dates(client: httpx.Client) -> None:
    # Given an admin
    admin, _ = sign_up(client, workspace="Range Co")
    with signed_in(client, admin.access_token) as browser:
        # When they ask for a range that ends before it starts
        page = browser.get("/app/usage", params={"from": "2026-03-10", "to": "2026-03-01"})
        # I expect the page with the API's sentence by the date fields, and the default 30 days shown
        assert page.status_code == 200
        assert "from (2026-03-10) is after to (2026-03-01)." in page.text
        assert 'aria-current="true">Last 30 days' in page.text
        # and the per-version table, loaded after the page, answers for the range or says what is wrong
        table = browser.get("/app/usage/versions", params={"from": "2026-03-01", "to": "2026-03-10"})
        assert table.status_code == 200 and 'class="data versions"' in table.text
        bad = browser.get("/app/usage/versions", params={"from": "2026-03-10", "to": "2026-03-01"})
        assert "is after to" in bad.text and "<table" not in bad.text
        # and a preset is honoured
        week = browser.get("/app/topics", params={"range": "7d"})
        assert week.status_code == 200 and 'aria-current="true">Last 7 days' in week.text


def test_links_the_server_writes_land_on_pages_that_exist(client: httpx.Client, container: Container) -> None:
    # Given an admin who invites a colleague
    admin, _ = sign_up(client, workspace="Links Co")
    invited = client.post(
        "/api/team/invites", json={"email": "pat@example.com", "role": "agent"}, headers=admin.headers
    )
    assert invited.status_code == 201, invited.text
    # I expect an invite link on the configured public URL that opens the join page
    assert container.auth is not None
    link = invited.json()["link"]
    assert link.startswith(container.auth.public_url + "/accept-invite?token=")
    assert "Join the workspace" in client.get(link.removeprefix(container.auth.public_url)).text


def test_the_api_reference_loads_its_assets_from_this_installation(client: httpx.Client) -> None:
    # When someone opens the API reference
    page = client.get("/schema/swagger")
    # I expect no asset from another site, and every asset it names served here
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets and all(a.startswith("/static/vendor/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_the_laptop_demo_prints_a_sign_in_to_its_workspace(client: httpx.Client, container: Container) -> None:
    # Given a first start of `chatassist up` (its demo workspace made now)
    demo = demo_workspace(container)
    url = "http://127.0.0.1:8000/"
    banner = demo_banner(url, demo, "offline answerer")
    # I expect the banner to give the sign-in of the demo workspace's admin, kept for this user only
    assert demo.email and demo.password and f"{url}signin as {demo.email} / {demo.password}" in banner
    saved = container.settings.data_path / "demo-workspace.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    # and that sign-in opens the demo workspace, whose widget key the demo page uses
    login = client.post("/api/auth/login", json={"email": demo.email, "password": demo.password})
    assert login.status_code == 200, login.text
    assert login.json()["workspace_id"] == str(demo.workspace_id) and login.json()["role"] == "admin"
    # and a later start finds the same workspace and sign-in again
    again = demo_workspace(container)
    assert (again.workspace_id, again.email, again.password) == (demo.workspace_id, demo.email, demo.password)


def test_the_landing_page_shows_this_installations_own_figures(
    client: httpx.Client, container: Container, workspace: create_ws.WorkspaceCreated
) -> None:
    # Given a conversation on this installation
    chat(client, workspace.widget_key, "How do I reset my password?")
    container.wait_for_projections()
    _figures.clear()  # the landing page keeps its figures a minute
    # When anyone opens the landing page
    page = client.get("/")
    # I expect the conversations of the last 30 days, every workspace together, as the analytics view counts them
    assert container.analytics is not None
    counted = container.analytics.query(
        "SELECT count(*) AS n FROM analytics_v2_conversations WHERE started_at >= now() - interval '30 days'"
    )[0]["n"]
    assert counted >= 1
    assert f'<p class="kpi-value">{counted:,}</p><p class="kpi-label">Conversations</p>' in page.text
    assert "Resolved by the AI alone" in page.text and "This installation, the last 30 days" in page.text
