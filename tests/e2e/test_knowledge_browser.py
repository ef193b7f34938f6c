"""The Knowledge screen in a real browser (Debian's Chromium, Playwright) against the real app, its projections,
PostgreSQL and Redis, with the offline answerer (no provider key): what an Admin writes there is what the widget's
next answer says and cites.

An Admin writes an article in Markdown (the preview follows), saves it, and a visitor's question in the widget on
/demo is answered from it with a link to it; the Admin imports a Markdown file and sees the report and the new
article; a question no article covers shows in the gaps, and "Write an article" opens the editor with it; the Admin
unpublishes and deletes. Every page is checked with axe-core and photographed at desktop and phone width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, Providers
from read_api._live import LiveHub
from tests.conftest import chat, generous_limits
from tests.e2e.test_dashboard_browser import AXE, CHROMIUM, CHROMIUM_ARGS, DESKTOP, TIMEOUT_MS, look
from tests.support.accounts import sign_up
from tests.support.browser import new_context, sign_in
from tests.support.server import ThreadedServer
from web.app import create_app

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect

LANGUAGE_COLUMN = 3  # of the article list: title, status, source, language, updated

BODY = """Refunds for the **Quokka plan** are paid back to the original card within 12 days.

## Receipts

Ask billing for a Quokka refund receipt."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists() or not AXE.exists():
        pytest.fail(f"needs Chromium at {CHROMIUM} and axe-core in web/static/vendor/ (`bash scripts/install test`)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def offline_site(container: Container) -> Iterator[ThreadedServer]:
    """The real app answering with the offline answerer (no provider key), the widget demo page included."""
    assert container.auth is not None
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy())
    app = create_app(
        chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
        live=LiveHub(container.redis_url),
    )
    server = ThreadedServer(app).start()
    yield server
    server.stop()


def ask_widget(page: Any, question: str) -> Any:
    """Open the widget on the demo page, ask, and return the answer's row once it has its note."""
    page.get_by_role("button", name="Open support chat").click()
    box = page.get_by_role("textbox", name="Your message")
    box.fill(question)
    box.press("Enter")
    answer = page.locator(".row.assistant").last
    expect(answer.locator(".note")).to_have_count(1)  # the answer is complete
    return answer


def test_an_admin_writes_imports_and_answers_a_gap(
    offline_site: ThreadedServer, browser: Any, container: Container
) -> None:
    base = offline_site.base_url
    with httpx.Client(base_url=base, timeout=30) as client:
        admin, body = sign_up(client, workspace="Quokka Co")
    widget_key = body["widget_key"]
    refused: list[str] = []
    context = new_context(browser, base, DESKTOP, TIMEOUT_MS)
    context.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page = sign_in(context, admin.email)

    # Given the Knowledge screen with the built-in articles
    page.get_by_role("link", name="Knowledge").click()
    page.wait_for_url(f"{base}/app/knowledge")
    expect(page.get_by_role("heading", name="Knowledge base", exact=True)).to_be_visible()
    expect(page.locator("table.articles")).to_contain_text("Built-in")

    # When the Admin writes an article in Markdown
    page.get_by_role("link", name="Write an article").first.click()
    page.wait_for_url(f"{base}/app/knowledge/editor")
    page.get_by_label("Title").fill("Quokka plan refunds")
    page.get_by_label("Body (Markdown)").fill(BODY)
    page.get_by_label("Link (optional)").fill("https://help.example.com/quokka-refunds")
    page.get_by_label("Tags (comma-separated)").fill("billing, refunds")
    # I expect the preview to show it formatted
    expect(page.locator("#preview h2")).to_have_text("Receipts")
    expect(page.locator("#preview strong")).to_have_text("Quokka plan")
    look(page, "knowledge-editor")
    page.get_by_role("button", name="Save article").click()
    # and, saved, the editor of the article saying so
    page.wait_for_url(re.compile(r"/app/knowledge/editor\?article=[0-9a-f-]+&saved=1"))
    expect(page.locator(".notice")).to_contain_text("Saved")
    expect(page.get_by_label("Tags (comma-separated)")).to_have_value("billing, refunds")

    # When a visitor asks the widget about it
    visitor = context.new_page()
    visitor.goto(f"/demo?key={widget_key}")
    answer = ask_widget(visitor, "How are refunds for the Quokka plan paid?")
    # I expect the answer from the article, and a link to it under the answer
    expect(answer.locator(".text")).to_contain_text("within 12 days")
    expect(answer.locator(".sources a")).to_have_text("Quokka plan refunds")
    expect(answer.locator(".sources a")).to_have_attribute("href", "https://help.example.com/quokka-refunds")

    # When the Admin imports a Markdown file
    page.goto("/app/knowledge")
    page.get_by_label("Markdown or HTML files, or a ZIP of them").set_input_files(
        {"name": "zebra-onboarding.md", "mimeType": "text/markdown",
         "buffer": b"# Zebra onboarding\n\nInvite your zebra team from Settings, then Team."}
    )  # fmt: skip
    page.get_by_role("button", name="Import files").click()
    # I expect the report and the article in the list
    expect(page.locator('form[action="/api/knowledge/import/files"] .import-report')).to_contain_text("Imported: 1 new")
    row = page.locator('tr[data-article="Zebra onboarding"]')
    expect(row).to_contain_text("Uploaded")
    expect(row).to_contain_text("Published")
    expect(row.locator("td").nth(LANGUAGE_COLUMN)).to_have_text("en")  # auto: none declared
    # When the Admin imports a file choosing its language
    page.locator("#files-language").select_option("es")
    page.get_by_label("Markdown or HTML files, or a ZIP of them").set_input_files(
        {"name": "facturas.md", "mimeType": "text/markdown",
         "buffer": b"# Facturas de cebras\n\nLas facturas se descargan desde Ajustes."}
    )  # fmt: skip
    page.get_by_role("button", name="Import files").click()
    # I expect it imported in that language
    spanish = page.locator('tr[data-article="Facturas de cebras"]')
    expect(spanish.locator("td").nth(LANGUAGE_COLUMN)).to_have_text("es")

    # When a visitor asks what no article covers
    visitor.goto(f"/demo?key={widget_key}")
    visitor.evaluate("k => localStorage.removeItem('chatassist:conversation:' + k)", widget_key)
    visitor.reload()
    ask_widget(visitor, "Do you integrate with Salesforce CPQ?")
    # and another visitor (through the chat API) asks for a person about something else
    with httpx.Client(base_url=base, timeout=30) as client:
        escalated = chat(client, widget_key, "Can I talk to a human about the Zapier webhook?")
    assert escalated[-1][1]["escalation"]["rule"] == "human_requested"
    container.wait_for_projections()
    # I expect both among the gaps with why they are there, and "Write an article" to start one with the question
    page.goto("/app/knowledge")
    gap = page.locator(".gap").filter(has_text="Salesforce CPQ")
    expect(gap).to_contain_text("Asked 1 time")
    expect(gap.locator(".gap-reasons")).to_contain_text("1 not covered")
    expect(gap.locator(".gap-reasons a")).to_have_text("conversation 1")
    handed = page.locator(".gap").filter(has_text="Zapier webhook")
    expect(handed.locator(".gap-reasons")).to_contain_text("1 handed to a person")
    look(page, "knowledge")
    gap.get_by_role("link", name=re.compile("Write an article")).click()
    expect(page.get_by_label("Title")).to_have_value("Do you integrate with Salesforce CPQ?")

    # When the Admin unpublishes the refunds article and deletes the imported one
    page.goto("/app/knowledge?q=quokka")
    refunds = page.locator('tr[data-article="Quokka plan refunds"]')
    refunds.get_by_role("button", name=re.compile("Unpublish")).click()
    expect(refunds.locator(".badge")).to_have_text("Draft")
    expect(page.locator("table.articles tbody tr")).to_have_count(1)  # the search is kept
    page.goto("/app/knowledge")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('tr[data-article="Zebra onboarding"]').get_by_role("button", name=re.compile("Delete")).click()
    # I expect the draft kept and the deleted one gone
    expect(page.locator('tr[data-article="Zebra onboarding"]')).to_have_count(0)
    expect(page.locator('tr[data-article="Quokka plan refunds"] .badge')).to_have_text("Draft")
    assert not refused, refused
    context.close()


def test_a_refused_article_keeps_what_was_typed(offline_site: ThreadedServer, browser: Any) -> None:
    with httpx.Client(base_url=offline_site.base_url, timeout=30) as client:
        admin, _ = sign_up(client, workspace="Empty Bodies")
    context = new_context(browser, offline_site.base_url, DESKTOP, TIMEOUT_MS)
    page = sign_in(context, admin.email)
    # When an Admin saves an article whose body is only spaces
    page.goto("/app/knowledge/editor")
    page.get_by_label("Title").fill("Blank")
    page.get_by_label("Body (Markdown)").fill("   ")
    page.get_by_role("button", name="Save article").click()
    # I expect the API's sentence by the body, the title kept, and no article made
    expect(page.locator('[data-error-for="body"]')).not_to_be_empty()
    expect(page.get_by_label("Title")).to_have_value("Blank")
    assert page.url.endswith("/app/knowledge/editor")
    context.close()
