"""The prompt studio and the escalation rules screen over HTTP: who sees what, each action through its command, a
refusal shown where the action was (nothing written), a version published meanwhile shown with a way forward.

The browser journey is tests/e2e/test_prompt_studio_browser.py; these check the server's side quickly.
"""

from __future__ import annotations

import json
import re

import httpx

from tests.support.accounts import Person, invite_and_join, sign_up

HTMX = {"HX-Request": "true"}


def as_member(client: httpx.Client, person: Person) -> httpx.Client:
    """A client carrying the person's session cookie, as the browser does."""
    return httpx.Client(base_url=str(client.base_url), cookies={"ca_session": person.access_token}, timeout=90)


def saved_draft(response: httpx.Response) -> str:
    """The draft id an htmx save announced (HX-Trigger)."""
    assert response.status_code == 200, response.text
    trigger = json.loads(response.headers["hx-trigger"])
    return str(trigger["chatassist:draft-saved"]["draft_id"])


def test_admins_write_agents_read_viewers_are_refused(client: httpx.Client) -> None:
    # Given a workspace with an admin, an agent and a viewer
    admin, _ = sign_up(client, workspace="Studio Roles")
    agent, viewer = invite_and_join(client, admin, "agent"), invite_and_join(client, admin, "viewer")
    with as_member(client, admin) as browser:
        # When the admin opens the studio
        page = browser.get("/app/prompts")
        # I expect the live version with its model, the five tabs, the editor, the sandbox and the history
        assert page.status_code == 200, page.text
        assert re.search(r"Active — version 1 — claude-[a-z0-9-]+ — the workspace's original prompt", page.text)
        for tab in ("System prompt", "Few-shot examples", "Topic rules", "Escalation logic", "Persona"):
            assert f">{tab}</a>" in page.text
        assert 'name="system_prompt"' in page.text and "Save draft" in page.text and "Run in sandbox" in page.text
        assert "Version history" in page.text and "Counterfactual replay" in page.text
        # and the menu links to the studio and the rules (no longer "soon")
        assert 'href="/app/prompts"' in page.text and 'href="/app/rules"' in page.text
        assert browser.get("/app/rules").status_code == 200
    with as_member(client, agent) as browser:
        # When the agent opens both screens, I expect them read-only: no save, sandbox, publish or try
        for path in ("/app/prompts", "/app/rules", "/app/prompts?tab=persona", "/app/prompts/diff?from=1&to=1"):
            page = browser.get(path)
            assert page.status_code == 200, (path, page.text)
            assert "Save draft" not in page.text and "Run in sandbox" not in page.text and "Try it" not in page.text
        assert "Read only" in browser.get("/app/prompts").text
        # and the server refuses their writes anyway
        refused = browser.post("/app/prompts/save", data={"tab": "system_prompt", "system_prompt": "x"}, headers=HTMX)
        assert refused.status_code == 403
    with as_member(client, viewer) as browser:
        # When the viewer asks for the studio by its address, I expect the refusal page and no menu entry
        refused = browser.get("/app/prompts")
        assert refused.status_code == 403 and "You can&#39;t open this page" in refused.text
        assert browser.get("/app/rules").status_code == 403
        assert 'href="/app/prompts"' not in browser.get("/app").text


def test_edit_check_save_publish_diff_and_roll_back(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Studio Flow")
    with as_member(client, admin) as browser:
        # When the admin types an empty system prompt, the check as they type says what is wrong
        check = browser.post("/app/prompts/check", data={"tab": "system_prompt", "system_prompt": "  "}, headers=HTMX)
        assert check.status_code == 200 and 'data-code="empty_system_prompt"' in check.text
        # and saving it is refused with the same sentence, nothing written
        refused = browser.post("/app/prompts/save", data={"tab": "system_prompt", "system_prompt": ""}, headers=HTMX)
        assert 'data-code="empty_system_prompt"' in refused.text
        assert "draft-refused" in refused.headers["hx-trigger"]
        assert client.get("/api/admin/prompts", headers=bearer(admin)).json()["drafts"] == []
        # When they type a good one, the check says so
        text = "You are the support assistant of {workspace}.\nAnswer in two sentences."
        check = browser.post("/app/prompts/check", data={"tab": "system_prompt", "system_prompt": text}, headers=HTMX)
        assert 'data-code="valid"' in check.text and "System prompt changed" in check.text
        # and saving makes a draft, announced to the page (and its address)
        saved = browser.post("/app/prompts/save", data={"tab": "system_prompt", "system_prompt": text}, headers=HTMX)
        draft = saved_draft(saved)
        assert draft in saved.headers["hx-replace-url"] and 'id="draft-panel"' in saved.text
        # When they publish it with a note
        published = browser.post(
            "/app/prompts/publish", data={"draft_id": draft, "note": "Shorter answers", "based_on_version": "1"},
            headers=HTMX,
        )  # fmt: skip
        # I expect version 2 live, the page moved to show it, with its author and note in the history
        assert published.headers["hx-redirect"] == "/app/prompts?published=2"
        page = browser.get("/app/prompts?published=2")
        assert "Version 2 is live" in page.text and "Active — version 2" in page.text and "by Ada Admin" in page.text
        assert "Shorter answers" in page.text and 'data-version="2"' in page.text
        # and the side-by-side diff of 1 and 2 shows the new lines
        diff = browser.get("/app/prompts/diff", params={"from": 1, "to": 2})
        assert diff.status_code == 200 and "<ins>Answer in two sentences.</ins>" in diff.text
        assert "Changed: <strong>System prompt</strong>" in diff.text
        # When they roll back to version 1 in one action
        rolled = browser.post("/app/prompts/rollback", data={"to_version": "1"}, headers=HTMX)
        assert rolled.headers["hx-redirect"] == "/app/prompts?rolled_back=3"
        page = browser.get("/app/prompts?rolled_back=3")
        assert "with the content of version 1" in page.text and "Rolled back to version 1" in page.text
        # and rolling back to the live version is refused with the command's sentence
        again = browser.post("/app/prompts/rollback", data={"to_version": "3"}, headers=HTMX)
        assert 'data-code="already_live"' in again.text


def test_a_version_published_meanwhile_is_shown_with_a_way_forward(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Studio Race")
    other = invite_and_join(client, admin, "admin")
    with as_member(client, admin) as mine, as_member(client, other) as theirs:
        # Given two admins with a draft each, opened while version 1 was live
        first = saved_draft(mine.post("/app/prompts/save", data={"tab": "system_prompt", "system_prompt": "Mine."},
                                      headers=HTMX))  # fmt: skip
        second = saved_draft(
            theirs.post("/app/prompts/save", data={"tab": "persona", **persona(tone="warm")}, headers=HTMX)
        )
        # When the other admin publishes first, with a note
        done = theirs.post("/app/prompts/publish", data={"draft_id": second, "note": "Warmer", "based_on_version": "1"},
                           headers=HTMX)  # fmt: skip
        assert done.headers["hx-redirect"] == "/app/prompts?published=2"
        # and I publish mine on version 1, as my page showed it
        conflict = mine.post("/app/prompts/publish", data={"draft_id": first, "note": "", "based_on_version": "1"},
                             headers=HTMX)  # fmt: skip
        # I expect what changed meanwhile (version, author, note, fields) and the ways forward, nothing published
        assert conflict.status_code == 200 and "Another version went live" in conflict.text
        assert "Version 2 (published) by" in conflict.text and "Warmer" in conflict.text and "Persona" in conflict.text
        assert 'href="/app/prompts/diff?from=1&amp;to=2"' in conflict.text
        assert 'name="based_on_version" value="2"' in conflict.text
        assert client.get("/api/admin/prompts", headers=bearer(admin)).json()["live_version"] == 2
        # When I choose to publish over version 2
        over = mine.post("/app/prompts/publish", data={"draft_id": first, "note": "Mine", "based_on_version": "2"},
                         headers=HTMX)  # fmt: skip
        assert over.headers["hx-redirect"] == "/app/prompts?published=3"


def test_the_approval_gate_on_the_page(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Studio Gate")
    reviewer = invite_and_join(client, admin, "admin")
    gate = client.patch("/api/settings", json={"prompt_approval_required": True}, headers=bearer(admin))
    assert gate.status_code == 200, gate.text
    with as_member(client, admin) as mine, as_member(client, reviewer) as theirs:
        draft = saved_draft(
            mine.post("/app/prompts/save", data={"tab": "system_prompt", "system_prompt": "Gated."}, headers=HTMX)
        )
        # When the author publishes without approval, the page says a second admin must approve
        refused = mine.post("/app/prompts/publish", data={"draft_id": draft, "based_on_version": "1"}, headers=HTMX)
        assert 'data-code="approval_required"' in refused.text
        page = mine.get(f"/app/prompts?draft={draft}")
        assert "Review: pending" in page.text and "You edited this draft" in page.text
        # and the other admin sees the review form and approves
        assert 'value="approve"' in theirs.get(f"/app/prompts?draft={draft}").text
        approved = theirs.post("/app/prompts/review", data={"draft_id": draft, "decision": "approve"}, headers=HTMX)
        assert approved.headers["hx-redirect"] == f"/app/prompts?draft={draft}"
        assert "Review: approved" in mine.get(f"/app/prompts?draft={draft}").text
        done = mine.post("/app/prompts/publish", data={"draft_id": draft, "based_on_version": "1"}, headers=HTMX)
        assert done.headers["hx-redirect"] == "/app/prompts?published=2"


def persona(**changes: str) -> dict[str, str]:
    """The persona tab's fields as the form sends them."""
    return {
        "tone": "friendly", "language": "auto", "max_response_words": "200", "max_response_tokens": "1024",
        "escalation_threshold": "40", "primary_model": "claude-sonnet-4-6", "fallback_model": "gpt-4o-mini",
        **changes,
    }  # fmt: skip


def rules(**changes: str) -> dict[str, str]:
    """The rules cards' fields as the form sends them."""
    return {
        "tab": "escalation", "screen": "rules", "low_confidence": "40", "max_ai_replies": "6", "refund_over": "200",
        "currency": "USD", "legal_keywords": "lawyer", "human_keywords": "human", "compliance_questions": "answer",
        **changes,
    }  # fmt: skip


def bearer(person: Person) -> dict[str, str]:
    """The JSON API's credentials of a person."""
    return {"Authorization": f"Bearer {person.access_token}"}


def test_rules_cards_try_a_message_and_save_in_a_draft(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Studio Rules")
    with as_member(client, admin) as browser:
        # When the admin opens the rules, I expect the five cards with their values
        page = browser.get("/app/rules")
        for rule in ("p1_legal", "p2_refund_over_threshold", "p3_turn_limit", "human_requested", "low_confidence"):
            assert f'data-rule="{rule}"' in page.text
        assert "Refund requests over 200 USD" in page.text and "Turn limit: 6 turns" in page.text
        # When they try a refund of €450, the refund rule fires and says why (converted, over the threshold)
        message = {"try_message": "I want a refund of €450 for my annual plan, charged last week"}
        fired = browser.post("/app/rules/try", data={**rules(), **message}, headers=HTMX)
        assert fired.status_code == 200 and 'data-rule="p2_refund_over_threshold"' in fired.text
        assert "P2 · Refund over the threshold" in fired.text and "billing" in fired.text
        # and with the threshold typed as 1000 EUR (not saved), no rule fires
        calm = browser.post(
            "/app/rules/try", data={**rules(refund_over="1000", currency="EUR"), **message}, headers=HTMX
        )
        assert 'data-rule="none"' in calm.text
        # and a threshold that is not a number is explained
        bad = browser.post("/app/rules/try", data={**rules(refund_over="lots"), **message}, headers=HTMX)
        assert "Refund threshold: write a number" in bad.text
        # When they save the cards, I expect a draft holding the new threshold and currency
        draft = saved_draft(
            browser.post("/app/prompts/save", data=rules(refund_over="500", currency="EUR"), headers=HTMX)
        )
        stored = client.get("/api/admin/prompts", headers=bearer(admin)).json()["drafts"]
        assert [(d["draft_id"], d["content"]["escalation"]["thresholds"]["refund_over"]) for d in stored] == [
            (draft, 500)
        ]
        assert stored[0]["content"]["escalation"]["currency"] == "EUR"
        assert "Refund requests over 500 EUR" in browser.get(f"/app/rules?draft={draft}").text


def test_examples_topic_rules_and_persona_tabs_save_into_one_draft(client: httpx.Client) -> None:
    admin, _ = sign_up(client, workspace="Studio Tabs")
    with as_member(client, admin) as browser:
        # When the admin adds a few-shot example (the blank row) and saves
        example = {"tab": "examples", "ex_id": "", "ex_user": "My API key stopped working.",
                   "ex_assistant": "Go to Settings → API Keys → Regenerate."}  # fmt: skip
        draft = saved_draft(browser.post("/app/prompts/save", data=example, headers=HTMX))
        page = browser.get(f"/app/prompts?tab=examples&draft={draft}")
        assert "My API key stopped working." in page.text and "Remove this example" in page.text
        # and a topic line without its colon is refused with the line's number, the draft unchanged
        refused = browser.post(
            "/app/prompts/save", data={"tab": "topic_rules", "draft_id": draft, "topic_rules": "Billing"}, headers=HTMX
        )
        assert 'data-code="invalid_topic_rules"' in refused.text and "line 1" in refused.text
        # When they write topic rules and a persona into the same draft
        topics = {"tab": "topic_rules", "draft_id": draft, "topic_rules": "Billing: invoice, charge\nLogin: password"}
        assert saved_draft(browser.post("/app/prompts/save", data=topics, headers=HTMX)) == draft
        tone = {"tab": "persona", "draft_id": draft, **persona(tone="warm and brief", max_response_words="120")}
        assert saved_draft(browser.post("/app/prompts/save", data=tone, headers=HTMX)) == draft
        # and an unknown model is refused as they type
        typo = browser.post("/app/prompts/check", data={"tab": "persona", "draft_id": draft,
                                                        **persona(primary_model="sonnet")}, headers=HTMX)  # fmt: skip
        assert 'data-code="unknown_model"' in typo.text
    # I expect one draft holding all three parts
    (stored,) = client.get("/api/admin/prompts", headers=bearer(admin)).json()["drafts"]
    content = stored["content"]
    assert [e["user"] for e in content["examples"]][-1] == "My API key stopped working."
    assert content["topic_rules"] == {"Billing": ["invoice", "charge"], "Login": ["password"]}
    assert content["persona"]["tone"] == "warm and brief" and content["persona"]["max_response_words"] == 120
