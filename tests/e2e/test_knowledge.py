"""End to end: help articles written through the API are what the assistant answers from and cites; an edit changes
the next answer; an uncovered question becomes a knowledge gap (docs/knowledge.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from chatassist.bootstrap import Container
from commands.ai.offline import NO_MATCH
from domain.knowledge import builtin_article_id
from tests.conftest import chat, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.visitors import widget_headers

SSO = {
    "title": "Single sign-on with Okta",
    "body": "# Okta SSO\n\nTo connect Okta, open Settings > Security > SSO, paste your Okta metadata URL and press "
    "Verify. Members then sign in with the Okta tile.\n\n## Troubleshooting\n\nIf Verify fails, check the clock "
    "of your identity provider.",
    "url": "https://help.example.com/sso-okta",
    "tags": ["sso", "okta", "saml"],
}


def admin_of(client: httpx.Client) -> tuple[Person, str]:
    """A new workspace's admin and its widget key."""
    admin, body = sign_up(client)
    return admin, body["widget_key"]


def reply_text(events: list[tuple[str, Any]]) -> str:
    return "".join(d["text"] for name, d in events if name == "delta")


def last_reply(container: Container, conversation_id: str) -> Any:
    return [e for e in stored_events(container, conversation_id) if type(e).__name__ == "AssistantReplied"][-1]


def test_an_article_written_by_an_admin_answers_and_is_cited_offline(
    offline_client: httpx.Client, container: Container
) -> None:
    # Given an admin who writes an article about Okta single sign-on
    admin, widget_key = admin_of(offline_client)
    created = offline_client.post("/api/knowledge/articles", json=SSO, headers=admin.headers)
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    # When a visitor asks about it (the offline answerer)
    events = chat(offline_client, widget_key, "How do I connect Okta SSO?")
    # I expect the article's text as the answer, and the article cited in `done` with its title and URL
    assert "Settings > Security > SSO" in reply_text(events)
    done = events[-1][1]
    assert done["citations"] == [
        {"article_id": article_id, "version": 1, "title": SSO["title"], "url": SSO["url"]},
    ]
    # and the provenance on the reply event: the retrieved chunks (article, version, chunk) and the citation
    reply = last_reply(container, events[0][1]["conversation_id"])
    assert reply.knowledge["citations"][0]["article_id"] == article_id
    assert (
        reply.knowledge["retrieved"][0]["article_id"] == article_id and reply.knowledge["retrieved"][0]["version"] == 1
    )
    assert reply.knowledge["gap"] is False
    # and the trailer never reached the visitor
    assert "<sources>" not in reply_text(events)
    # and the transcript API shows the citation on the answer
    container.wait_for_projections()
    conversation_id = events[0][1]["conversation_id"]
    transcript = offline_client.get(
        f"/api/conversations/{conversation_id}", headers=widget_headers(widget_key, conversation_id)
    )
    answer = [m for m in transcript.json()["messages"] if m["role"] == "assistant"][-1]
    assert answer["citations"] == done["citations"]


def test_an_edit_changes_the_next_answer(offline_client: httpx.Client, container: Container) -> None:
    # Given an article, and a first answer from it
    admin, widget_key = admin_of(offline_client)
    article_id = offline_client.post("/api/knowledge/articles", json=SSO, headers=admin.headers).json()["id"]
    assert "paste your Okta metadata URL" in reply_text(chat(offline_client, widget_key, "How do I connect Okta SSO?"))
    # When the admin edits the article
    body = "To connect Okta, ask our support team for the SSO add-on: it is enabled by an engineer within a day."
    edited = offline_client.patch(f"/api/knowledge/articles/{article_id}", json={"body": body}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    # I expect the very next answer to use the new text, citing version 2
    events = chat(offline_client, widget_key, "How do I connect Okta SSO?")
    assert "enabled by an engineer within a day" in reply_text(events)
    assert events[-1][1]["citations"][0]["version"] == 2
    # When the admin unpublishes it
    assert offline_client.post(f"/api/knowledge/articles/{article_id}/unpublish", headers=admin.headers).is_success
    # I expect no answer from it any more
    assert reply_text(chat(offline_client, widget_key, "How do I connect Okta SSO?")) == NO_MATCH
    # and every change in the audit log, naming the admin
    container.wait_for_projections()
    items = offline_client.get("/api/audit", headers=admin.headers).json()["items"]
    logged = [(i["kind"], i["actor_id"]) for i in reversed(items) if i["kind"].startswith("knowledge.")]
    assert logged == [
        ("knowledge.article_created", admin.account_id),
        ("knowledge.article_edited", admin.account_id),
        ("knowledge.article_unpublished", admin.account_id),
    ]


def test_the_model_is_given_the_article_ids_and_its_citations_are_checked(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given an article, and a model that cites it and an id that was never retrieved
    admin, widget_key = admin_of(client)
    article_id = client.post("/api/knowledge/articles", json=SSO, headers=admin.headers).json()["id"]
    invented = str(uuid.uuid4())
    trailer = f"<confidence>0.9</confidence><topic>Other</topic><sources>{article_id}, {invented}</sources>"
    text = f"Open Settings > Security > SSO.\n{trailer}"
    fake_llm.enqueue("anthropic", Script(text=text))
    # When a visitor asks
    events = chat(client, widget_key, "How do I connect Okta SSO?")
    # I expect the model to have been sent the article's chunk with its id and the instruction to cite
    system = fake_llm.requests_for("anthropic")[-1].json["system"][0]["text"]
    assert f"(id: {article_id})" in system and "<sources>" in system and "paste your Okta metadata URL" in system
    # and only the retrieved article cited, the trailer hidden from the visitor
    assert reply_text(events) == "Open Settings > Security > SSO."
    assert [c["article_id"] for c in events[-1][1]["citations"]] == [article_id]


def test_a_builtin_article_is_listed_and_editing_it_adopts_it(
    offline_client: httpx.Client, container: Container
) -> None:
    # Given a new workspace with its built-in articles
    admin, widget_key = admin_of(offline_client)
    container.wait_for_projections()
    response = offline_client.get("/api/knowledge/articles", headers=admin.headers)
    assert response.status_code == 200, response.text
    listed = response.json()
    reset_id = str(builtin_article_id(uuid.UUID(admin.workspace_id), "reset-password"))
    assert reset_id in [a["id"] for a in listed["articles"]] and listed["total"] == 12
    # When the admin edits the built-in password article
    edited = offline_client.patch(
        f"/api/knowledge/articles/{reset_id}",
        json={"body": "Passwords are reset by your company's IT desk only; we cannot send reset links."},
        headers=admin.headers,
    )
    assert edited.status_code == 200, edited.text
    # I expect the next answer to use the edit
    assert "IT desk" in reply_text(chat(offline_client, widget_key, "I forgot my password, how do I reset it?"))


def test_an_uncovered_question_appears_in_the_gaps(offline_client: httpx.Client, container: Container) -> None:
    # Given a workspace
    admin, widget_key = admin_of(offline_client)
    # When visitors ask twice about something no article covers (worded differently), and once about passwords
    first = chat(offline_client, widget_key, "Do you integrate with Salesforce CPQ?")
    chat(offline_client, widget_key, "integrate salesforce cpq")
    chat(offline_client, widget_key, "I forgot my password, how do I reset it?")
    container.wait_for_projections()
    # I expect one gap, asked twice, with the conversations, and not the password question
    gaps = offline_client.get("/api/knowledge/gaps", headers=admin.headers)
    assert gaps.status_code == 200, gaps.text
    listed = gaps.json()["gaps"]
    assert [(g["key"], g["count"]) for g in listed] == [("cpq integrate salesforce", 2)]
    assert first[0][1]["conversation_id"] in listed[0]["conversations"]
    assert listed[0]["example"] == "integrate salesforce cpq" and listed[0]["best_support"] < 0.5


def test_bad_articles_are_refused_with_stable_codes(offline_client: httpx.Client) -> None:
    admin, _ = admin_of(offline_client)
    cases = [
        ({**SSO, "body": "  "}, "empty_article"),
        ({**SSO, "body": "x" * 200_001}, "article_too_large"),
        ({**SSO, "language": "klingon"}, "invalid_language"),
        ({**SSO, "url": "javascript:alert(1)"}, "invalid_url"),
        ({**SSO, "title": ""}, "invalid_article_title"),
    ]
    for body, code in cases:
        response = offline_client.post("/api/knowledge/articles", json=body, headers=admin.headers)
        assert (response.status_code, response.json()["code"]) == (422, code), response.text
    missing = offline_client.patch(
        f"/api/knowledge/articles/{uuid.uuid4()}", json={"title": "x"}, headers=admin.headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "article_not_found")


def test_agents_may_not_manage_knowledge(offline_client: httpx.Client) -> None:
    admin, _ = admin_of(offline_client)
    agent = invite_and_join(offline_client, admin, "agent")
    response = offline_client.post("/api/knowledge/articles", json=SSO, headers=agent.headers)
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_escalations_and_low_confidence_offers_are_gaps_too(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a workspace with the Okta article, and a model unsure of its answer
    admin, widget_key = admin_of(client)
    assert client.post("/api/knowledge/articles", json=SSO, headers=admin.headers).status_code == 201
    unsure = "I'm not sure: maybe Settings > Security?\n<confidence>0.1</confidence><topic>Other</topic>"
    fake_llm.enqueue("anthropic", Script(text=unsure))
    # When a visitor asks about Okta (the article covers it) and gets the unsure answer and a person offered
    offered = chat(client, widget_key, "How do I connect Okta SSO?")
    assert offered[-1][1]["escalation"]["rule"] == "low_confidence", offered[-1]
    # and two visitors ask for a person about the same thing no article covers (the model is not called)
    calls = len(fake_llm.requests_for("anthropic"))
    escalated = [
        chat(client, widget_key, "Can I talk to a human about the Zapier webhook?"),
        chat(client, widget_key, "can i talk to a human about the zapier webhook"),
    ]
    assert [e[-1][1]["escalation"]["rule"] for e in escalated] == ["human_requested"] * 2
    assert len(fake_llm.requests_for("anthropic")) == calls
    container.wait_for_projections()
    # I expect both in the gaps, grouped, each with why it is listed, when and where it was asked
    listed = {g["key"]: g for g in client.get("/api/knowledge/gaps", headers=admin.headers).json()["gaps"]}
    human = listed["about human talk webhook zapier"]
    assert human["count"] == 2 and human["reasons"] == {"low_support": 0, "offered": 0, "escalated": 2}
    assert human["conversations"] == [e[0][1]["conversation_id"] for e in reversed(escalated)]
    assert human["first_seen"] < human["last_seen"]
    okta = listed["connect okta sso"]
    assert okta["count"] == 1 and okta["reasons"] == {"low_support": 0, "offered": 1, "escalated": 0}
    assert okta["best_support"] >= 0.5 and okta["conversations"] == [offered[0][1]["conversation_id"]]
    # and the reply events say why
    reply = last_reply(container, offered[0][1]["conversation_id"])
    assert reply.knowledge["gap"] is True and reply.knowledge["gap_reasons"] == ["offered"]
