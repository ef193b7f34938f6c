"""The Team and Knowledge screens over HTTP: who sees which control, what the preview lets through, how a page waits
for its read model after a change. The browser journeys are tests/e2e/test_team_browser.py and
tests/e2e/test_knowledge_browser.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.accounts import invite_and_join, sign_up
from web.pages.team_page import status_of


def signed_in(client: httpx.Client, token: str) -> httpx.Client:
    """A client carrying the session cookie, as the browser does."""
    return httpx.Client(base_url=str(client.base_url), cookies={"ca_session": token}, timeout=20)


def test_an_agent_sees_the_team_without_admin_controls(client: httpx.Client) -> None:
    # Given a workspace with an Admin and an Agent
    admin, _ = sign_up(client, workspace="Controls")
    agent = invite_and_join(client, admin, "agent")
    # When each opens the Team screen
    with signed_in(client, admin.access_token) as a, signed_in(client, agent.access_token) as b:
        as_admin, as_agent = a.get("/app/team"), b.get("/app/team")
        knowledge_for_agent = b.get("/app/knowledge")
    # I expect both to see both members; only the Admin the invite form and the role and remove controls
    for page in (as_admin, as_agent):
        assert page.status_code == 200 and admin.email in page.text and agent.email in page.text
    assert "Send invitation" in as_admin.text and 'data-api="PATCH"' in as_admin.text
    assert "Send invitation" not in as_agent.text and 'data-api="PATCH"' not in as_agent.text
    assert "Remove" not in as_agent.text
    # and, with two members of which one Admin, the Admin's role locked with the reason, the Agent's not
    assert as_admin.text.count("make another member Admin") == 2  # the note and its screen-reader twin
    # and the Agent refused the Knowledge screen (Admins only), and not offered it in the menu
    assert knowledge_for_agent.status_code == 403 and "Knowledge" not in as_agent.text.split("</nav>")[0]


def test_the_htmx_refresh_is_only_the_changing_part(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Fragments")
    with signed_in(client, admin.access_token) as a:
        part = a.get("/app/team", headers={"HX-Request": "true"})
        knowledge = a.get("/app/knowledge", headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and 'data-counter="total"' in part.text
    assert knowledge.status_code == 200 and "<html" not in knowledge.text and "table" in knowledge.text


def test_the_preview_shows_markdown_and_no_raw_html(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Preview")
    with signed_in(client, admin.access_token) as a:
        body = "# Title\n\n<script>alert(1)</script> [x](javascript:alert(2)) **bold**"
        preview = a.post("/app/knowledge/preview", data={"body": body}, headers={"HX-Request": "true"})
        empty = a.post("/app/knowledge/preview", data={}, headers={"HX-Request": "true"})
    assert preview.status_code == 200, preview.text
    assert "<h1>Title</h1>" in preview.text and "<strong>bold</strong>" in preview.text
    assert "<script>" not in preview.text and "&lt;script&gt;" in preview.text
    assert 'href="javascript' not in preview.text
    assert empty.status_code == 200 and "The preview shows here" in empty.text


def test_the_editor_waits_for_the_read_model_after_a_write(client: httpx.Client) -> None:
    # Given an article just written through the API
    admin, _ = sign_up(client, workspace="Read your writes")
    made = client.post(
        "/api/knowledge/articles", json={"title": "Fresh", "body": "Fresh text."}, headers=admin.headers
    ).json()
    with signed_in(client, admin.access_token) as a:
        # When the editor is asked for it with the version the write answered
        page = a.get("/app/knowledge/editor", params={"article": made["id"], "wait": f"{made['id']}:{made['version']}"})
        # I expect it (the page waited for the read model instead of answering 404)
        assert page.status_code == 200 and "Fresh text." in page.text
        # and an unknown article is a 404 page, a malformed wait is ignored
        missing = a.get("/app/knowledge/editor", params={"article": str(uuid.uuid4()), "wait": "nonsense"})
        assert missing.status_code == 404 and "No article" in missing.text
        # and after a delete the list no longer shows it
        deleted = client.delete(f"/api/knowledge/articles/{made['id']}", headers=admin.headers).json()
        listed = a.get("/app/knowledge", params={"wait": f"{deleted['id']}:deleted"})
        assert listed.status_code == 200 and 'data-article="Fresh"' not in listed.text


def test_member_status_reads_like_the_screen() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    ago = lambda **kw: (now - timedelta(**kw)).isoformat()  # noqa: E731
    assert status_of(None, now) == ("Never signed in", False)
    assert status_of(ago(minutes=2), now) == ("Active now", True)
    assert status_of(ago(minutes=30), now) == ("Last active: 30 min ago", False)
    assert status_of(ago(hours=1, minutes=5), now) == ("Last active: 1 hour ago", False)
    assert status_of(ago(hours=2), now) == ("Last active: 2 hours ago", False)
    assert status_of(ago(hours=30), now) == ("Last active: yesterday", False)
    assert status_of(ago(days=4), now) == ("Last active: Dec 3", False)


def test_without_an_smtp_server_the_invitation_link_is_given_to_the_admin(client: httpx.Client) -> None:
    # Given an installation with no mail server (the session's app), an Admin invites someone
    admin, _ = sign_up(client, workspace="No mail")
    invited = client.post("/api/team/invites", json={"email": "x@example.com", "role": "viewer"}, headers=admin.headers)
    # I expect the answer to say it was not emailed, with the link to pass on
    assert invited.status_code == 201, invited.text
    assert invited.json()["emailed"] is False and "/accept-invite?token=" in invited.json()["link"]
