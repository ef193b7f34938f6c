"""The chat monitor's pages over HTTP (the browser journey is tests/e2e/test_monitor_browser.py): the list under
its tabs with priority, reason, confidence and wait; one chat with its escalation, summary, hours and the actions
the member may take; who has a chat claimed by someone else."""

from __future__ import annotations

import re

import httpx

from chatassist.bootstrap import Container
from tests.conftest import chat
from tests.e2e.test_dashboard_pages import signed_in
from tests.support.accounts import invite_and_join, sign_up

LEGAL = "This is fraud, my lawyer will be contacting you about a lawsuit"


def test_an_escalated_chat_in_the_monitor_and_opened(client: httpx.Client, container: Container) -> None:
    # Given a workspace with an admin and an agent, and a visitor whose legal threat escalated (P1)
    admin, body = sign_up(client, workspace="Monitor Co")
    agent = invite_and_join(client, admin, "agent")
    events = chat(client, body["widget_key"], LEGAL, user_id="sarah@corp.io")
    conversation_id = events[0][1]["conversation_id"]
    assert events[-1][1]["escalation"]["rule"] == "p1_legal"
    chat(client, body["widget_key"], "How do I export my invoices?", user_id="dev@startup.co")
    container.wait_for_projections()
    with signed_in(client, agent.access_token) as browser:
        # When the agent opens the monitor's Escalations tab
        page = browser.get("/app/monitor", params={"view": "escalations"})
        # I expect the row with its priority, visitor, topic, turns, wait and the reason an agent scans
        assert page.status_code == 200, page.text
        row = re.search(r'<li class="mon-row" data-id="' + conversation_id + r'">(.*?)</li>', page.text, re.S)
        assert row, page.text
        assert ">High<" in row[1] and "sarah@corp.io — Legal &amp; Compliance" in row[1]
        assert "Turns: 1" in row[1] and "Waiting " in row[1] and "Reason: Legal terminology detected" in row[1]
        assert "Waiting for a person" in row[1]
        # the tabs (with their counts) and the three cards, live on the monitor's stream
        for label in ("Active chats", "Queue", "Escalations", "Closed"):
            assert label in page.text
        assert 'sse-connect="/api/monitor/live?view=escalations' in page.text
        assert len(re.findall(r'data-kpi="', page.text)) == 3
        assert "Escalation Wait Time" in page.text and "AI Confidence Score" in page.text
        # only escalated chats under that tab; both under Active chats
        assert "dev@startup.co" not in page.text
        active = browser.get("/app/monitor", params={"view": "active"}, headers={"HX-Request": "true"})
        assert "dev@startup.co" in active.text and "sarah@corp.io" in active.text
        assert "<html" not in active.text  # htmx gets the changing part only

        # When they open the chat
        opened = browser.get(f"/app/conversations/{conversation_id}", params={"from": "escalations"})
        # I expect the transcript, the escalation's rule and evidence, the summary, the hours, and Claim
        assert opened.status_code == 200, opened.text
        text = opened.text
        assert LEGAL in text and "AI Assistant" in text and "holding message" in text
        assert "P1 · Legal or compliance" in text and "<code>p1_legal</code>" in text
        assert "Matched" in text and "lawyer" in text
        assert "Handoff summary" in text and "Escalated by rule p1_legal" in text
        assert "data-after-hours" in text
        assert f'action="/api/agent/conversations/{conversation_id}/claim"' in text
        assert "← Escalations" in text

    # When the admin claims it, the agent's page says who has it, and offers no claim, reply or close
    claimed = client.post(f"/api/agent/conversations/{conversation_id}/claim", headers=admin.headers)
    assert claimed.status_code == 200, claimed.text
    with signed_in(client, agent.access_token) as browser:
        text = browser.get(f"/app/conversations/{conversation_id}").text
        assert "Ada Admin has this chat" in text and "pick another chat from the queue" in text
        assert "/claim" not in text and "/reply" not in text and "/close" not in text
        assert "/notes" in text  # a note for the person who has it
    # and the admin gets the reply box and the return to the AI
    with signed_in(client, admin.access_token) as browser:
        text = browser.get(f"/app/conversations/{conversation_id}").text
        assert "You have this chat" in text and "/reply" in text and "/return-to-ai" in text


def test_a_viewer_cannot_open_a_chat_and_another_workspaces_chat_is_not_found(client: httpx.Client) -> None:
    admin, body = sign_up(client, workspace="Viewer Co")
    viewer = invite_and_join(client, admin, "viewer")
    events = chat(client, body["widget_key"], "Hello there")
    conversation_id = events[0][1]["conversation_id"]
    other, _ = sign_up(client, workspace="Other Co")
    with signed_in(client, viewer.access_token) as browser:
        refused = browser.get(f"/app/conversations/{conversation_id}")
        assert refused.status_code == 403 and "chat.monitor" in refused.text
    with signed_in(client, other.access_token) as browser:
        missing = browser.get(f"/app/conversations/{conversation_id}")
        assert missing.status_code == 404 and "Not found" in missing.text
