"""The chat monitor in a real browser (Debian's Chromium driven by Playwright) against the real app, its
projections, PostgreSQL and Redis; Anthropic faked at the HTTP level (tests/fakes/llm_server.py).

The issue's journey: a visitor sends a legal threat in the widget; an Agent (Dana) sees it appear under
Escalations without a reload, opens it, claims it, replies, and the visitor's widget shows the reply with her
name; a second agent whose page is behind tries to claim it too and is told, in the API's words, who has it; Dana
adds an internal note (never in the widget), corrects the topic, returns the chat to the AI, and the AI answers the
visitor's next message; she resolves it and finds it under Closed. Another chat, escalated for a legal word used as
subject matter, is recalled from its page ("not a legal matter"). axe-core checks the list and the opened chat (no
serious or critical violation); both are photographed at desktop and phone width into docs/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from tests.conftest import chat
from tests.e2e.test_dashboard_browser import CHROMIUM_ARGS, DESKTOP, PHONE, TIMEOUT_MS, browser, dashboard, look
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import PASSWORD, Person, person, sign_up, unique_email
from tests.support.browser import sign_in

__all__ = ["CHROMIUM_ARGS", "browser", "dashboard"]  # the module-scoped fixtures, shared with the dashboard test

sync_api = pytest.importorskip("playwright.sync_api", exc_type=ImportError, reason="needs the playwright package")
expect = sync_api.expect

LEGAL = "This is fraud. My lawyer will be contacting you about a lawsuit."
REPLY = "Hi, I'm Dana from our legal team. I'm sorry about this; I'm looking into your account now."
NOTE = "Mentions a lawsuit: loop in legal@ before any refund."
AI_ANSWER = "You can export your data from Settings, then Export, as CSV or JSON."
RECALLED = "Our legal department needs last year's invoices for our lawsuit against a supplier. Can you export them?"
CLAIMED = "Another agent has already claimed this conversation; pick another one from the queue."


def join(client: httpx.Client, admin: Person, name: str) -> Person:
    """An agent invited by the admin, who accepts with ``name``."""
    email = unique_email("agent")
    invited = client.post("/api/team/invites", json={"email": email, "role": "agent"}, headers=admin.headers)
    assert invited.status_code == 201, invited.text
    accepted = client.post(
        "/api/team/invites/accept", json={"token": invited.json()["token"], "password": PASSWORD, "name": name}
    )
    assert accepted.status_code == 200, accepted.text
    return person(email, accepted.json())


@pytest.fixture
def contexts(browser: Any, dashboard: Any) -> Iterator[list[Any]]:
    """Browser contexts (separate cookies and connections), closed after the test."""
    made: list[Any] = []

    def new(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(base_url=dashboard.base_url, viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield new  # type: ignore[misc]
    for context in made:
        context.close()


def test_an_agent_takes_over_a_legal_threat_and_hands_it_back_to_the_ai(
    dashboard: Any, contexts: Any, container: Container, fake_llm: FakeLLMServer
) -> None:
    base = dashboard.base_url
    client = httpx.Client(base_url=base, timeout=30)
    # Given a workspace with two agents, Dana and Sam
    admin, body = sign_up(client, workspace="Northwind")
    key = body["widget_key"]
    dana = join(client, admin, "Dana Scully")
    sam = join(client, admin, "Sam Rivera")
    # and chats already in the monitor: a refund over the threshold (escalated) and one the AI is answering
    refund = chat(client, key, "I was charged twice. I want a refund of $450 for the annual plan.",
                  user_id="sarah@corp.io")  # fmt: skip
    assert refund[-1][1]["escalation"]["rule"] == "p2_refund_over_threshold"
    chat(client, key, "How do I connect my Slack workspace to ChatAssist?", user_id="john@acme.com")
    container.wait_for_projections()
    # and Dana on the monitor's Escalations tab
    refused_by_csp: list[str] = []
    agent_context = contexts()
    agent_context.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security" in m.text else None)
    agent = sign_in(agent_context, dana.email)
    agent.get_by_role("navigation", name="Menu").get_by_role("link", name="Monitor").click()
    agent.get_by_role("link", name=re.compile(r"^Escalations")).click()
    agent.wait_for_url(re.compile(r"view=escalations"))
    rows = agent.locator(".mon-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Refund exceeds $200 threshold")
    expect(rows.first.locator(".prio")).to_have_text("High")
    agent.evaluate("window.__noReload = 'still here'")

    # When a visitor sends a legal threat in the widget
    visitor = contexts(PHONE).new_page()
    visitor.goto(f"/demo?key={key}")
    visitor.get_by_role("button", name="Open support chat").click()
    box = visitor.get_by_role("textbox", name="Your message")
    box.fill(LEGAL)
    box.press("Enter")
    expect(visitor.locator(".row.assistant .text")).to_have_count(1)  # the holding message
    expect(visitor.get_by_role("button", name="Send message")).to_be_enabled()

    # Then Dana sees it appear under Escalations without a reload: High, legal, waiting, with its reason
    legal = rows.filter(has_text="Legal terminology detected")
    expect(legal).to_have_count(1, timeout=30_000)
    expect(legal.locator(".prio")).to_have_text("High")
    expect(legal).to_contain_text("Legal & Compliance")
    expect(legal).to_contain_text(re.compile(r"Turns: 1 · Waiting (<1|\d+) min"))
    expect(legal.locator(".state")).to_have_text("Waiting for a person")
    expect(rows).to_have_count(2)
    assert agent.evaluate("window.__noReload") == "still here"
    expect(agent.locator('[data-kpi="escalations"] .kpi-value')).to_have_text("2")
    look(agent, "monitor-escalations")

    # When Dana opens it
    legal.locator("a.summary").click()
    agent.wait_for_url(re.compile(r"/app/conversations/[0-9a-f-]+\?from=escalations"))
    chat_url = agent.url
    conversation_id = re.search(r"/app/conversations/([0-9a-f-]+)", chat_url)[1]  # type: ignore[index]
    # I expect the whole transcript, the escalation's rule and evidence, the hours and the handoff summary
    expect(agent.locator(".timeline .msg.visitor .msg-text")).to_have_text([LEGAL])
    expect(agent.locator(".timeline .msg.ai .meta")).to_have_text(["holding message"])
    escalation = agent.locator("section.escalation")
    expect(escalation.locator("[data-reason]")).to_have_text("Legal terminology detected")
    expect(escalation).to_contain_text("p1_legal")
    expect(escalation).to_contain_text("lawyer")
    expect(escalation.locator("[data-after-hours]")).not_to_be_empty()
    expect(agent.locator(".summary-card")).to_contain_text("Escalated by rule p1_legal")
    expect(agent.locator('[data-kpi="wait"] .kpi-change')).to_have_text("waiting for a person since the escalation")

    # Given Sam's page on the same chat, whose live updates have not arrived (its stream is held back)
    sam_context = contexts()
    sam_context.route("**/api/monitor/live**", lambda route: route.abort())
    sam_page = sign_in(sam_context, sam.email)
    sam_page.goto(chat_url)
    expect(sam_page.get_by_role("button", name="Claim this chat")).to_be_visible()

    # When Dana claims it
    agent.get_by_role("button", name="Claim this chat").click()
    # I expect the page to say she has it, and the visitor's widget to say she joined
    expect(agent.locator("#chat-flash")).to_contain_text("You have this chat")
    expect(agent.locator("[data-holder]")).to_contain_text("You have this chat")
    expect(agent.locator("[data-chat-state]")).to_have_text("Claimed")
    # (after the widget's escalation notice, shown when the legal threat was handed to the team)
    expect(visitor.locator(".row.system .text")).to_have_text(
        ["A person from our team will take over this chat.", "Dana joined the chat."]
    )

    # When Sam, whose page still offers the claim, claims it too
    sam_page.get_by_role("button", name="Claim this chat").click()
    # I expect the API's sentence, and his page now saying who has it, with a way forward
    expect(sam_page.locator("#chat-flash")).to_have_text(CLAIMED)
    expect(sam_page.locator("[data-holder]")).to_contain_text("Dana Scully has this chat")
    expect(sam_page.get_by_role("link", name="pick another chat from the queue")).to_be_visible()
    expect(sam_page.get_by_role("button", name="Claim this chat")).to_have_count(0)
    expect(sam_page.get_by_label("Reply to the visitor")).to_have_count(0)

    # When Dana replies
    agent.get_by_label("Reply to the visitor").fill(REPLY)
    agent.get_by_role("button", name="Send reply").click()
    # I expect her reply in the transcript, and live in the visitor's widget under her first name
    expect(agent.locator(".timeline .msg.agent .msg-text")).to_have_text([REPLY])
    expect(agent.get_by_label("Reply to the visitor")).to_have_value("")
    widget_reply = visitor.locator(".row.agent")
    expect(widget_reply.locator(".text")).to_have_text([REPLY])
    expect(widget_reply.locator(".who")).to_have_text(["Dana"])

    # When she adds an internal note and corrects the topic
    agent.get_by_label("Internal note").fill(NOTE)
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator(".timeline .msg.note .msg-text")).to_have_text([NOTE])
    agent.get_by_label("Change topic").fill("Billing dispute")
    agent.get_by_role("button", name="Save").click()
    expect(agent.locator("[data-topic]")).to_have_text("Billing dispute")
    expect(agent.locator(".timeline .step").last).to_contain_text("changed the topic to Billing dispute")
    look(agent, "monitor-chat")
    # and a refused action shows the API's sentence and keeps what she typed
    too_long = "x" * 4001
    agent.get_by_label("Internal note").evaluate("(el, v) => { el.removeAttribute('maxlength'); el.value = v; }",
                                                 too_long)  # fmt: skip
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator("#chat-flash")).to_have_text("The note is 4001 characters long; the limit is 4000.")
    expect(agent.get_by_label("Internal note")).to_have_value(too_long)
    agent.get_by_label("Internal note").fill("")
    # (the note never reaches the visitor)
    assert NOTE not in visitor.locator("body").inner_text()

    # When she returns the chat to the AI
    fake_llm.enqueue("anthropic", Script(text=AI_ANSWER))
    agent.get_by_role("button", name="Return to AI").click()
    expect(agent.locator("[data-chat-state]")).to_have_text("Back with the AI")
    expect(visitor.locator(".row.system .text").last).to_have_text("You are chatting with the AI assistant again.")
    # Then the AI answers the visitor's next message (the fake Anthropic model is called)
    box.fill("Thanks. How do I export my data?")
    box.press("Enter")
    expect(visitor.locator(".row.assistant .text").last).to_have_text(AI_ANSWER)
    assert len(fake_llm.requests_for("anthropic")) >= 1
    # and Dana's page shows the visitor's message and the AI's answer without a reload
    expect(agent.locator(".timeline .msg.ai .msg-text").last).to_have_text(AI_ANSWER, timeout=30_000)

    # When she resolves it, it leaves the open chats and is found under Closed
    agent.get_by_role("button", name="Resolve").click()
    expect(agent.locator("[data-chat-state]")).to_have_text("Resolved")
    agent.get_by_role("link", name="← Escalations").click()
    agent.get_by_role("link", name=re.compile(r"^Closed")).click()
    expect(agent.locator(f'.mon-row[data-id="{conversation_id}"] .state')).to_have_text("Resolved")
    assert refused_by_csp == []
    client.close()


def test_an_agent_recalls_a_wrong_escalation_from_the_conversation_page(
    dashboard: Any, contexts: Any, container: Container
) -> None:
    client = httpx.Client(base_url=dashboard.base_url, timeout=30)
    # Given a chat escalated as P1 for a legal word used as subject matter, and Dana, an agent
    admin, body = sign_up(client, workspace="Recall Ltd")
    dana = join(client, admin, "Dana Scully")
    events = chat(client, body["widget_key"], RECALLED, user_id="maria@shop.example")
    assert events[-1][1]["escalation"]["rule"] == "p1_legal"
    conversation_id = events[0][1]["conversation_id"]
    container.wait_for_projections()
    # When Dana opens it and recalls the escalation: not a legal matter, no rule applied
    agent = sign_in(contexts(), dana.email)
    agent.goto(f"/app/conversations/{conversation_id}")
    escalation = agent.locator("section.escalation")
    escalation.get_by_label("Wrong escalation? Recall it").fill("not a legal matter: invoices for their own case")
    escalation.get_by_label("It should have been").select_option("none")
    look(agent, "monitor-recall-form")
    escalation.get_by_role("button", name="Recall").click()
    # I expect the chat back with the AI, the recall in the card and in the timeline, and no second recall offered
    expect(agent.locator("#chat-flash")).to_contain_text("Escalation recalled")
    expect(agent.locator("[data-chat-state]")).to_have_text("Back with the AI")
    expect(escalation.locator("[data-recalled]")).to_contain_text("By Dana Scully")
    expect(escalation.locator("[data-recalled]")).to_contain_text("not a legal matter")
    expect(agent.locator(".timeline .step").last).to_contain_text("recalled the escalation")
    expect(escalation.get_by_role("button", name="Recall")).to_have_count(0)
    look(agent, "monitor-recall")
    client.close()
