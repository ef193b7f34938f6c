"""The replay page in a real browser (Debian's Chromium driven by Playwright) against the real app, its projections,
PostgreSQL and Redis; Anthropic and OpenAI faked at the HTTP level (tests/fakes/llm_server.py).

An auditor signs in and lands on the audit screen (the only one their role has), opens a conversation by its id,
sees the verified chain, steps back through the versions with the slider (the state at each version), reads a model
call's details and what the AI was told with its verdict, and downloads the Markdown export; the replay is itself in
the audit log. An admin reaches the same page from the conversation's page. axe-core checks both screens; both are
photographed at desktop and phone width into docs/screenshots/replay*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from chatassist.bootstrap import Container
from tests.conftest import chat
from tests.e2e.test_dashboard_browser import CHROMIUM_ARGS, DESKTOP, TIMEOUT_MS, browser, dashboard, look
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.browser import new_context
from tests.support.browser import sign_in as browser_sign_in

__all__ = ["CHROMIUM_ARGS", "browser", "dashboard"]

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect

FIRST = "How do I export my invoices as PDF?"
SECOND = "And can I get them emailed every month?"
ANSWERS = ("Open Billing, then Invoices, and choose Download PDF.", "Yes: in Billing, turn on Monthly invoice email.")


def sign_in(browser: Any, base: str, who: Person, lands: str) -> Any:
    return browser_sign_in(new_context(browser, base, DESKTOP, TIMEOUT_MS), who.email, lands)


def test_an_auditor_replays_a_conversation_version_by_version(
    dashboard: Any, browser: Any, container: Container, fake_llm: FakeLLMServer
) -> None:
    client = httpx.Client(base_url=dashboard.base_url, timeout=30)
    # Given a workspace with an auditor, and a conversation of two questions, the first answered after a fallback
    admin, body = sign_up(client, workspace="Ledger & Co")
    auditor = invite_and_join(client, admin, "auditor")
    fake_llm.enqueue("anthropic", Script(kind="status", status=529))
    fake_llm.enqueue("openai", Script(text=ANSWERS[0]))
    cid = str(chat(client, body["widget_key"], FIRST, user_id="maria@ledger.example")[0][1]["conversation_id"])
    fake_llm.enqueue("anthropic", Script(text=ANSWERS[1]))
    chat(client, body["widget_key"], SECOND, conversation_id=cid, user_id="maria@ledger.example")
    events = client.get(f"/api/audit/conversations/{cid}/events", params={"limit": 500}, headers=admin.headers)
    items = events.json()["items"]
    last = len(items)
    container.wait_for_projections()

    # When the auditor signs in, I expect the audit screen (their only menu item)
    page = sign_in(browser, dashboard.base_url, auditor, r"/app/audit$")
    menu = page.get_by_role("navigation", name="Menu")
    expect(menu.get_by_role("link")).to_have_text(["Audit"])
    # When they open the conversation by its id
    page.get_by_label("Conversation id").fill("not-an-id")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a conversation id")
    page.get_by_label("Conversation id").fill(cid)
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url(re.compile(rf"/app/audit/conversations/{cid}$"))
    # Then the chain is verified, the timeline lists every event with its actor, the state is the last version's
    expect(page.locator("[data-chain]")).to_have_text("✓ Hash chain verified")
    expect(page.locator(".replay-check")).to_contain_text(f"{last} events, {last} chained")
    rows = page.locator(".replay-timeline tbody tr")
    expect(rows).to_have_count(last)
    expect(rows.first).to_contain_text("Visitor")
    expect(page.get_by_role("heading", name=f"State at version {last} of {last}")).to_be_visible()
    turns = page.locator(".state-turns").first
    expect(turns).to_contain_text(SECOND)
    expect(turns).to_contain_text(ANSWERS[1])
    # and the model calls: the overloaded Anthropic attempt, the OpenAI fallback, the second answer
    calls = page.locator(".replay-calls tbody tr")
    expect(calls).to_have_count(sum(1 for e in items if e["type"] == "ModelCallMade"))
    expect(calls.nth(0)).to_contain_text("anthropic")
    expect(calls.nth(1)).to_contain_text("openai")
    # and what the AI was told for the last call, rebuilt to its recorded hash
    told = page.locator("#told")
    expect(told.locator("[data-verdict]")).to_have_text("Rebuilt request matches the recorded hash")
    expect(told).to_contain_text(FIRST)
    expect(told).to_contain_text(SECOND)
    look(page, "replay")

    # When the auditor slides back to the version after the first visitor message
    first_message = next(e["version"] for e in items if e["type"] == "UserMessageReceived")
    slider = page.get_by_role("slider", name="Version")
    slider.fill(str(first_message))
    page.wait_for_url(re.compile(rf"\?v={first_message}$"))
    # Then the state is that version's: one visitor turn, no answer yet; later events greyed
    expect(page.get_by_role("heading", name=f"State at version {first_message} of {last}")).to_be_visible()
    expect(page.locator(".state-turns").first).to_contain_text(FIRST)
    expect(page.locator(".state-turns").first).not_to_contain_text(ANSWERS[0])
    expect(page.locator(".replay-timeline tr.later")).to_have_count(last - first_message)
    expect(page.locator(".replay-timeline tr[aria-current]")).to_contain_text(str(first_message))

    # When they open what the AI was told for the OpenAI fallback
    calls.nth(1).get_by_role("link", name="What the AI was told").click()
    expect(told).to_contain_text("call at version")
    expect(told.locator("[data-verdict]")).to_have_text("Rebuilt request matches the recorded hash")
    expect(told).not_to_contain_text(SECOND)  # the request of the first answer knew only the first question
    # and download the Markdown export
    with page.expect_download() as download:
        page.get_by_role("link", name="Export transcript (Markdown)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith(f"# Conversation {cid}\n") and f"the hash chain of its {last} events verifies" in text
    # and the PDF transcript
    with page.expect_download() as download:
        page.get_by_role("link", name="Export transcript (PDF)").click()
    pdf = PdfReader(download.value.path())
    pdf_text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    assert f"Conversation {cid}" in pdf_text and f"the hash chain of its {last} events verifies" in pdf_text

    # Then each view is in the audit log, by the auditor, from the dashboard
    container.wait_for_projections()
    log = client.get("/api/audit", params={"kind": "audit.conversation_replayed"}, headers=admin.headers).json()
    viewed = [r for r in log["items"] if r["details"].get("via") == "dashboard"]
    assert len(viewed) >= 3 and {r["actor_id"] for r in viewed} == {auditor.account_id}
    # and the auditor may not open the monitor's page of the conversation
    refused = page.goto(f"/app/conversations/{cid}")
    assert refused is not None and refused.status == 403
    page.context.close()

    # When the admin opens the conversation's page, I expect a link to its replay
    admin_page = sign_in(browser, dashboard.base_url, admin, r"/app$")
    admin_page.goto(f"/app/conversations/{cid}")
    admin_page.get_by_role("link", name="Replay from its events (audit)").click()
    admin_page.wait_for_url(re.compile(rf"/app/audit/conversations/{cid}$"))
    expect(admin_page.locator("[data-chain]")).to_have_text("✓ Hash chain verified")
    admin_page.goto("/app/audit")
    expect(admin_page.get_by_role("link", name=cid)).to_be_visible()
    look(admin_page, "replay-open")
    admin_page.context.close()
