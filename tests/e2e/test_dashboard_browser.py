"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against the real app, its projections,
PostgreSQL and Redis; the LLM providers faked at the HTTP level (tests/fakes/llm_server.py).

One journey, as a support lead lives it: sign up, find an empty overview with the widget's tag, fill demo data and
see the cards and charts fill; chat through the widget on /demo in a second page and watch the activity feed and
its counters change without a reload; filter the feed; open a transcript; change the analytics date range; a
Viewer sees analytics but not the monitor; sign out and get sent to sign in. Every page is checked with axe-core
(no serious or critical violation) and photographed at desktop and phone width into docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from chatassist.seed import demo_filler
from read_api._live import LiveHub
from tests.conftest import generous_limits
from tests.support.accounts import PASSWORD, unique_email
from tests.support.server import ThreadedServer
from web.app import create_app

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect
expect.set_options(timeout=20_000)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "web" / "static" / "vendor" / "axe.min.js"
SHOTS = Path(os.environ.get("CHATASSIST_SCREENSHOTS", ROOT / "docs" / "screenshots"))
CHROMIUM = os.environ.get("CHATASSIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 30_000
OVERFLOW = """width => document.documentElement.scrollWidth <= width ? [] :
  [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 1)
    .filter(e => !e.closest('.chart-scroll, .table-wrap, .menu'))
    .slice(0, 8)
    .map(e => e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture(scope="module")
def dashboard(container: Container) -> Iterator[ThreadedServer]:
    """The real app with the live hub (SSE updates) and the demo-data button (a smaller seed: quicker)."""
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
        live=LiveHub(container.redis_url),
        demo_data=demo_filler(container.app, conversations=200, days=60, last_day=40),
        mode_note="AI mode: anthropic, openai configured.",
    )
    server = ThreadedServer(app).start()
    configured, container.auth.public_url = container.auth.public_url, server.base_url  # the widget tag's address
    yield server
    server.stop()
    container.auth.public_url = configured


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: install Debian's chromium (as .ci/run does)")
    if not AXE.exists():
        pytest.fail("axe-core is missing from web/static/vendor/: run `bash scripts/install test`")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def check_accessibility(page: Any, name: str) -> None:
    """axe-core over the page as it is: no serious or critical violation."""
    page.add_script_tag(url="/static/vendor/axe.min.js")  # from our origin: the pages' CSP allows no inline script
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: " + "; ".join(bad)


def photograph(page: Any, name: str) -> None:
    """The page at desktop and phone width into docs/screenshots/, then back to desktop."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.wait_for_timeout(250)  # layout settles
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        wider = page.evaluate(OVERFLOW, size["width"])  # nothing wider than the screen: no sideways scrolling
        assert not wider, f"{name} at {label} width: wider than the screen: {wider}"
    page.set_viewport_size(DESKTOP)


def look(page: Any, name: str) -> None:
    """Accessibility check and screenshots of one page."""
    check_accessibility(page, name)
    photograph(page, name)


def figure(page: Any, kpi: str) -> str:
    """The value shown on a KPI card."""
    return str(page.locator(f'[data-kpi="{kpi}"] .kpi-value').inner_text()).strip()


def counter(page: Any, name: str) -> int:
    """A counter of the activity feed as a number."""
    text = page.locator(f'[data-counter="{name}"] .kpi-value').inner_text()
    return int(re.sub(r"[^0-9]", "", text) or 0)


def test_a_support_leads_day_with_the_dashboard(dashboard: ThreadedServer, browser: Any, container: Container) -> None:
    base = dashboard.base_url
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    refused_by_csp: list[str] = []  # every page runs under the pages' CSP (no inline script or style)
    context.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security Policy" in m.text else None)
    page = context.new_page()

    # Given the landing page, which offers sign in and the free trial
    page.goto("/")
    expect(page.get_by_role("link", name="Start your 14-day free trial")).to_be_visible()
    look(page, "landing")
    page.goto("/signin")
    look(page, "signin")

    # When a support lead signs up, first with a password that is too short
    page.goto("/signup")
    email = unique_email("lead")
    page.get_by_label("Your name").fill("Lena Lead")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_label("Company or workspace name").fill("Northwind")
    page.get_by_role("button", name="Create my workspace").click()
    # I expect the API's sentence next to the password field, and no account made
    password_error = page.locator('[data-error-for="password"]')
    expect(password_error).not_to_be_empty()
    assert page.url.endswith("/signup")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    look(page, "signup")
    # and with a good one, the overview of a new workspace: its empty state with its own widget tag
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my workspace").click()
    page.wait_for_url(f"{base}/app")
    expect(page.get_by_role("heading", name="No conversations yet")).to_be_visible()
    snippet = page.locator("#snippet").inner_text()
    key = re.search(r'data-widget-key="(wk_[^"]+)"', snippet)
    assert key, snippet
    widget_key = key[1]
    expect(page.locator(".sidebar")).to_contain_text("Northwind")
    expect(page.locator(".sidebar")).to_contain_text("Lena Lead")
    assert figure(page, "conversations") == "0"
    look(page, "overview-empty")

    # When they fill demo data
    page.get_by_role("button", name="Fill demo data").click()
    page.wait_for_url(re.compile(r"/app\?seeding=1"), timeout=90_000)  # written: the page moves to the overview
    # I expect the KPI cards, the hourly chart and the quota gauge to fill as the projections catch up (live)
    container.wait_for_projections(timeout=120)  # the page is not reloaded: the live stream brings the figures
    expect(page.get_by_role("heading", name="No conversations yet")).to_have_count(0)
    expect(page.locator('[data-kpi="conversations"] .kpi-value')).not_to_have_text("0")
    heights = page.locator("svg.chart rect.bar").evaluate_all("bars => bars.map(b => +b.getAttribute('height'))")
    assert len(heights) == 24 and sum(heights) > 0
    expect(page.locator(".gauge-card")).to_contain_text("tokens this month")
    assert figure(page, "cost").startswith("$") and figure(page, "resolution").endswith("%")
    expect(page.locator('[data-kpi="conversations"] .kpi-change')).to_contain_text("vs yesterday")
    page.wait_for_timeout(1500)  # the last projection updates land before the picture
    look(page, "overview")
    page.emulate_media(color_scheme="dark")  # and in the dark theme: still legible (axe checks its contrast)
    look(page, "overview-dark")
    page.emulate_media(color_scheme="light")

    # Given room in the token budget (the demo conversations' tokens count towards it: the overview says so)
    if page.locator(".notice.warn").count():
        expect(page.locator(".notice.warn")).to_contain_text("token budget is used up")
    raised = context.request.patch("/api/settings", data={"monthly_token_budget": 5_000_000})
    assert raised.ok, raised.text()
    # and the activity feed open, marked so that a reload would show
    # (the page fetches its live part again once its stream is connected: a change made between the page's render
    # and the stream's start is not missed)
    with page.expect_request(lambda r: r.url.endswith("/app/activity?filter=all") and r.headers.get("hx-request")):
        page.goto("/app/activity")
    expect(page.locator(".feed-row").first).to_be_visible()
    page.evaluate("window.__noReload = 'still here'")
    active_before = counter(page, "active")
    look(page, "activity")
    # and the overview open in another tab
    overview = context.new_page()
    overview.goto("/app")
    overview.evaluate("window.__noReload = 'still here'")
    today_before = int(figure(overview, "conversations").replace(",", ""))
    # When a visitor chats through the widget on the demo page, in a second page
    visitor = context.new_page()
    visitor.goto(f"/demo?key={widget_key}")
    visitor.get_by_role("button", name="Open support chat").click()
    box = visitor.get_by_role("textbox", name="Your message")
    box.fill("How do I reset my password?")
    box.press("Enter")
    expect(visitor.locator(".row.assistant .text").first).not_to_be_empty()
    expect(visitor.get_by_role("button", name="Send message")).to_be_enabled()
    # I expect the feed to show the new conversation at the top, and "Active now" to count it, without a reload
    expect(page.locator(".feed-row").first.locator(".summary")).to_have_text("The AI is answering", timeout=20_000)
    deadline = time.monotonic() + 20
    while counter(page, "active") <= active_before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert counter(page, "active") == active_before + 1
    assert page.evaluate("window.__noReload") == "still here"
    # and the overview's conversations of today to count it too, without a reload either
    expect(overview.locator('[data-kpi="conversations"] .kpi-value')).to_have_text(f"{today_before + 1:,}")
    assert overview.evaluate("window.__noReload") == "still here"
    overview.close()
    visitor.close()

    # When a live stream fails (say the 15-minute session cookie ran out), I expect the page to renew the session
    with page.expect_response("**/api/auth/refresh") as renewed:
        page.evaluate("document.dispatchEvent(new Event('htmx:sseError'))")
    assert renewed.value.status == 200

    # When they filter the feed to escalated conversations
    page.get_by_role("link", name="Escalated", exact=True).click()
    page.wait_for_url(re.compile(r"filter=escalated"))
    # I expect only escalated ones, each showing the AI's confidence or its CSAT, never the rule's 100%
    rows = page.locator(".feed-row")
    expect(rows.first).to_be_visible()
    assert rows.count() > 0
    metas = rows.locator(".meta").all_inner_texts()
    assert all("AI confidence: 100%" not in m for m in metas), metas
    assert any("AI confidence:" in m or "CSAT:" in m for m in metas)
    # and with the resolved filter, only resolved ones
    page.get_by_role("link", name="Resolved", exact=True).click()
    page.wait_for_url(re.compile(r"filter=resolved"))
    badges = page.locator(".feed-row .badge").all_inner_texts()
    assert badges and set(badges) == {"Resolved"}, badges

    # When they open a conversation from the feed
    first = page.locator(".feed-row a.summary").first
    first.click()
    page.wait_for_url(re.compile(r"/app/conversations/"))
    # I expect its transcript: the visitor's words and the assistant's answers
    expect(page.locator(".msg.visitor").first).to_be_visible()
    expect(page.locator(".msg.assistant").first).to_be_visible()
    look(page, "transcript")

    # When they open the usage analytics (last 30 days by default) and pick the last 7 days, then a custom range
    page.goto("/app/usage")
    expect(page.locator(".chip[aria-current]")).to_have_text("Last 30 days")
    assert int(figure(page, "conversations").replace(",", "")) >= 100
    expect(page.locator("svg.chart")).to_have_attribute("data-bars", "30")
    expect(page.locator(".gauge-card")).to_contain_text("resolved by AI")
    expect(page.locator("table.data").first).to_contain_text("anthropic")
    expect(page.locator("table.versions")).to_contain_text("v1")  # loaded after the page, by htmx
    look(page, "usage")
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url(re.compile(r"range=7d"))
    expect(page.locator("svg.chart")).to_have_attribute("data-bars", "7")
    today = date.today()
    page.get_by_label("From", exact=True).fill((today - timedelta(days=13)).isoformat())
    page.get_by_label("To", exact=True).fill(today.isoformat())
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"from="))
    expect(page.locator("svg.chart")).to_have_attribute("data-bars", "14")
    page.goto("/app/topics")
    expect(page.locator("article.topic").first).to_be_visible()
    look(page, "topics")
    page.goto("/app/monitor")
    look(page, "monitor")

    # Given a Viewer invited by the admin
    invited = context.request.post("/api/team/invites", data={"email": unique_email("viewer"), "role": "viewer"})
    assert invited.status == 201, invited.text()
    viewer_context = browser.new_context(base_url=base, viewport=DESKTOP)
    viewer_context.set_default_timeout(TIMEOUT_MS)
    viewer = viewer_context.new_page()
    viewer.goto(f"/accept-invite?token={invited.json()['token']}")
    viewer.get_by_label("Your name (new accounts)").fill("Vic Viewer")
    viewer.get_by_label("Password").fill(PASSWORD)
    viewer.get_by_role("button", name="Join the workspace").click()
    viewer.wait_for_url(f"{base}/app")
    # I expect analytics but no monitor: not in the menu, and refused when asked for
    menu = viewer.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link", name="Analytics")).to_be_visible()
    expect(menu.get_by_role("link", name="Monitor")).to_have_count(0)
    expect(viewer.get_by_role("button", name="Fill demo data")).to_have_count(0)
    refused = viewer.goto("/app/monitor")
    assert refused is not None and refused.status == 403
    expect(viewer.get_by_role("heading", name="You can't open this page")).to_be_visible()
    viewer_context.close()

    # When the admin signs out
    page.goto("/app")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin"))
    # I expect the dashboard to send them to sign in
    page.goto("/app/usage")
    assert "/signin?next=/app/usage" in page.url
    context.close()
    # and nothing on any page refused by the Content-Security-Policy
    assert refused_by_csp == []
