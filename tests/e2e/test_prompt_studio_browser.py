"""The prompt studio and the escalation rules in a real browser (Debian's Chromium driven by Playwright) against the
real app, its projections, PostgreSQL and Redis; Anthropic and OpenAI faked at the HTTP level (tests/fakes).

An admin edits the system prompt (checked as they type), runs the sandbox (the answer streams, with its tokens,
cost, confidence, topic and escalation decision), replays the latest real conversations, publishes version 2 with a
note, sees it in the history, compares 1 and 2 side by side, rolls back to 1; tries a message on the rules; an
agent sees the studio read-only; a viewer gets the refusal page on the direct address. axe-core checks each page
(no serious or critical violation) and each is photographed at desktop and phone width into docs/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

from chatassist.bootstrap import Container
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    TIMEOUT_MS,
    browser,
    dashboard,
    expect,
    look,
)
from tests.support.accounts import PASSWORD, unique_email
from tests.support.server import ThreadedServer

NEW_PROMPT = "You are the support assistant of {workspace}.\nAnswer in two short sentences, then offer a link."


def joined(chromium: Any, base: str, token: str, name: str) -> tuple[Any, Any]:
    """A second person accepts an invitation in a browser context of their own."""
    context = chromium.new_context(base_url=base, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"/accept-invite?token={token}")
    page.get_by_label("Your name (new accounts)").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Join the workspace").click()
    page.wait_for_url(f"{base}/app")
    return context, page


def test_an_admin_tunes_the_prompt_in_the_studio(
    dashboard: ThreadedServer,  # noqa: F811
    browser: Any,  # noqa: F811
    container: Container,
) -> None:
    base = dashboard.base_url
    context = browser.new_context(base_url=base, viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    refused_by_csp: list[str] = []
    context.on("console", lambda m: refused_by_csp.append(m.text) if "Content Security Policy" in m.text else None)
    # Given an admin's workspace with two real conversations
    body = {"email": unique_email("studio"), "password": PASSWORD, "name": "Pat Prompt", "workspace_name": "Studio Co"}
    signed_up = context.request.post("/api/auth/signup", data=body)
    assert signed_up.status == 201, signed_up.text()
    widget = {"X-Widget-Key": signed_up.json()["widget_key"], "Accept": "application/json"}
    for n, text in enumerate(("How do I reset my password?", "Where do I download my March invoice?")):
        chat = context.request.post("/api/chat", headers=widget, data={"message": text, "user": {"id": f"v{n}"}})
        assert chat.ok, chat.text()
    container.wait_for_projections(timeout=60)
    page = context.new_page()

    # When the admin opens the prompt studio
    page.goto("/app/prompts")
    # I expect the live version, the tabs, the editor beside the sandbox, and the history
    expect(page.locator(".live-line")).to_contain_text("Active — version 1")
    expect(page.get_by_role("navigation", name="Parts of the prompt")).to_contain_text("Few-shot examples")
    original = page.get_by_label("Current system prompt").input_value()
    assert original.strip()
    # When they clear the prompt, the check as they type says what is wrong
    editor = page.get_by_label("Current system prompt")
    editor.fill("")
    expect(page.locator("#editor-status")).to_contain_text("The system prompt is empty")
    # and when they write the new one, that it is good and not saved yet
    editor.fill(NEW_PROMPT)
    expect(page.locator("#editor-status")).to_contain_text("System prompt changed, not saved yet")
    # When they run it in the sandbox (the change is saved as a draft first)
    page.get_by_role("button", name="Run in sandbox").click()
    # I expect the answer streamed in, with its tokens, cost, confidence, topic and escalation decision
    turn = page.locator(".sandbox-turn").first
    expect(turn.locator(".msg-line.visitor")).to_have_text("How do I reset my password?")
    expect(turn.locator(".turn-facts")).to_contain_text("Escalation: none")
    facts = turn.locator(".turn-facts").inner_text()
    for fact in ("Tokens:", "Cost: $", "Confidence:", "Topic:", "Model:"):
        assert fact in facts, facts
    assert turn.locator(".msg-line.assistant").inner_text().strip()
    expect(page.locator("#draft-panel")).to_contain_text("changes System prompt")
    assert "draft=d_" in page.url
    # When they replay the latest real conversations with the draft
    page.get_by_label("Conversations to replay").select_option("3")
    page.get_by_role("button", name="Run replay").click()
    expect(page.locator(".replay-summary")).to_contain_text("2 conversations replayed", timeout=60_000)
    look(page, "prompts")

    # When they publish it as version 2 with a change note
    page.get_by_label("Change note").fill("Shorter answers with a link")
    page.get_by_role("button", name="Publish as version 2").click()
    page.wait_for_url(re.compile(r"published=2"))
    # I expect it live, and in the history with its author and note
    expect(page.locator(".live-line")).to_contain_text("Active — version 2")
    expect(page.locator(".live-line")).to_contain_text("by Pat Prompt")
    row = page.locator('tr[data-version="2"]')
    expect(row).to_contain_text("Pat Prompt")
    expect(row).to_contain_text("Shorter answers with a link")
    expect(row).to_contain_text("Live")

    # When they compare versions 1 and 2
    history = page.locator("#history")
    history.get_by_label("Compare").select_option("1")
    history.get_by_label("with").select_option("2")
    history.get_by_role("button", name="Compare side by side").click()
    page.wait_for_url(re.compile(r"/app/prompts/diff\?from=1&to=2"))
    # I expect the two prompts side by side, the new lines marked
    expect(page.locator("table.diff ins").first).to_be_visible()
    expect(page.locator("table.diff")).to_contain_text("Answer in two short sentences")
    look(page, "prompts-diff")
    page.emulate_media(color_scheme="dark")  # the removed and added lines stay legible in the dark theme (axe)
    look(page, "prompts-diff-dark")
    page.emulate_media(color_scheme="light")

    # When they roll back to version 1 in one action
    page.goto("/app/prompts")
    page.get_by_role("button", name="Roll back to v1").click()
    page.wait_for_url(re.compile(r"rolled_back=3"))
    # I expect version 3 live with version 1's content
    expect(page.locator(".notice.good")).to_contain_text("with the content of version 1")
    assert page.get_by_label("Current system prompt").input_value() == original

    # When they try a message on the escalation rules
    page.goto("/app/rules")
    page.get_by_label("Visitor message").fill("I want a refund of $450 for my annual plan")
    page.get_by_role("button", name="Try it").click()
    # I expect the refund card's rule to fire, with why
    expect(page.locator("#try-result")).to_contain_text("P2 · Refund over the threshold")
    expect(page.locator("#try-result")).to_contain_text("over the threshold of 200 USD")
    expect(page.locator('.rule-card[data-rule="p2_refund_over_threshold"]')).to_have_class(re.compile(r"\bfired\b"))
    look(page, "rules")

    # Given an agent and a viewer of the workspace
    invites = [context.request.post("/api/team/invites", data={"email": unique_email(r), "role": r}) for r in
               ("agent", "viewer")]  # fmt: skip
    assert all(i.status == 201 for i in invites), [i.text() for i in invites]
    agent_context, agent = joined(browser, base, invites[0].json()["token"], "Avery Agent")
    # When the agent opens the studio, I expect it read-only: the prompt shown, nothing to save or run
    agent.goto("/app/prompts")
    expect(agent.get_by_label("Current system prompt")).to_be_disabled()
    expect(agent.get_by_role("button", name="Save draft")).to_have_count(0)
    expect(agent.get_by_role("button", name="Run in sandbox")).to_have_count(0)
    expect(agent.locator('tr[data-version="2"]')).to_contain_text("Shorter answers with a link")
    look(agent, "prompts-agent")
    agent_context.close()
    viewer_context, viewer = joined(browser, base, invites[1].json()["token"], "Val Viewer")
    # When the viewer asks for the studio by its address, I expect the refusal page and no menu entry
    expect(viewer.get_by_role("navigation", name="Menu").get_by_role("link", name="Prompts")).to_have_count(0)
    refused = viewer.goto("/app/prompts")
    assert refused is not None and refused.status == 403
    expect(viewer.get_by_role("heading", name="You can't open this page")).to_be_visible()
    viewer_context.close()
    context.close()
    # and nothing refused by the Content-Security-Policy
    assert refused_by_csp == []
