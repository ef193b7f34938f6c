"""Prompt management end to end: drafts, publish, rollback, history, diff and provenance on every turn, over the
real server, PostgreSQL and the fake providers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, Providers
from commands.publish_prompt import cmd as publish_cmd
from commands.save_prompt_draft import cmd as save_cmd
from domain.prompt_config import prompt_config_id
from domain.workspace import DEFAULT_SYSTEM_PROMPT
from tests.conftest import chat, stored_events
from tests.fakes.llm_server import FakeLLMServer
from tests.support.accounts import Person, invite_and_join, sign_up

PROMPTS = "/api/admin/prompts"


def last_event(container: Container) -> int | None:
    return container.app.recorder.max_notification_id()


def refused(container: Container, call: Callable[[], httpx.Response], status: int, code: str) -> dict[str, Any]:
    """A request refused with ``status`` and ``code``, a sentence, and no event written."""
    before = last_event(container)
    response = call()
    body = response.json()
    assert (response.status_code, body.get("code")) == (status, code), response.text
    assert isinstance(body.get("message"), str) and body["message"].rstrip().endswith((".", ")")), body
    assert last_event(container) == before, "a refused request wrote an event"
    return body


def draft(client: httpx.Client, member: Person, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{PROMPTS}/drafts", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def publish(client: httpx.Client, member: Person, draft_id: str, note: str, based_on: int | None = None) -> Any:
    body: dict[str, Any] = {"note": note}
    if based_on is not None:
        body["based_on_version"] = based_on
    response = client.post(f"{PROMPTS}/drafts/{draft_id}/publish", json=body, headers=member.headers)
    assert response.status_code == 201, response.text
    return response.json()


def system_sent(fake: FakeLLMServer) -> str:
    """The system text of the last Anthropic request."""
    blocks = fake.requests_for("anthropic")[-1].json["system"]
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    return str(blocks[0]["text"])


def test_three_versions_and_a_rollback_each_turn_records_the_version_that_answered(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, body = sign_up(client, workspace="Prompt Co")
    second_admin = invite_and_join(client, admin, "admin")
    key = body["widget_key"]
    v1_prompt = DEFAULT_SYSTEM_PROMPT.replace("{workspace}", "Prompt Co")

    # version 1: the workspace's prompt before versioning
    start = client.get(PROMPTS, headers=admin.headers).json()
    assert (start["live_version"], start["versioned"], start["drafts"]) == (1, False, [])
    assert start["live"]["content"]["system_prompt"] == DEFAULT_SYSTEM_PROMPT
    first = chat(client, key, "How do I reset my password?")
    conversation_id = first[0][1]["conversation_id"]
    assert system_sent(fake_llm).startswith(v1_prompt + "\n\nHelp articles")
    versions_answered = [first[-1][1]["prompt_version"]]

    # version 2 (admin) and version 3 (the second admin), each answering the next turn
    prompts = {2: "You are Prompt Co's support assistant, version two.", 3: "Version three: be brief."}
    authors = {2: admin, 3: second_admin}
    for number in (2, 3):
        made = draft(
            client, authors[number], {"system_prompt": prompts[number], "persona": {"max_response_tokens": 400}}
        )
        assert made["based_on_version"] == number - 1
        published = publish(client, authors[number], made["draft_id"], f"note {number}", number - 1)
        assert (published["version"], published["kind"], published["by"]) == (
            number,
            "published",
            authors[number].account_id,
        )
        turn = chat(client, key, f"Question under version {number}", conversation_id=conversation_id)
        versions_answered.append(turn[-1][1]["prompt_version"])
        sent = fake_llm.requests_for("anthropic")[-1].json
        assert sent["system"][0]["text"].startswith(prompts[number] + "\n\nTone: ") and sent["max_tokens"] == 400

    # roll back to version 1: version 4 has version 1's content
    rolled = client.post(f"{PROMPTS}/rollback", json={"to_version": 1, "note": "back to basics"}, headers=admin.headers)
    assert rolled.status_code == 201, rolled.text
    assert (rolled.json()["version"], rolled.json()["kind"], rolled.json()["restored_version"]) == (4, "rollback", 1)
    last = chat(client, key, "And now?", conversation_id=conversation_id)
    versions_answered.append(last[-1][1]["prompt_version"])
    assert versions_answered == [1, 2, 3, 4]
    assert system_sent(fake_llm).startswith(v1_prompt + "\n\nTone: ")
    v1 = client.get(f"{PROMPTS}/versions/1", headers=admin.headers).json()
    v4 = client.get(f"{PROMPTS}/versions/4", headers=admin.headers).json()
    assert v4["content"] == v1["content"] and v4["restored_version"] == 1

    # the stored events carry the versions
    events = stored_events(container, conversation_id)
    replied = [e.prompt_version for e in events if type(e).__name__ == "AssistantReplied"]
    called = [e.prompt_version for e in events if type(e).__name__ == "ModelCallMade"]
    assert replied == [1, 2, 3, 4] and called == [1, 2, 3, 4]

    # the history shows each change with its author, time and note
    history = client.get(f"{PROMPTS}/history", headers=admin.headers).json()
    assert history["live_version"] == 4
    rows = [(v["version"], v["kind"], v["by"], v["note"]) for v in history["versions"]]
    assert rows == [
        (1, "initial", None, ""),
        (2, "published", admin.account_id, "note 2"),
        (3, "published", second_admin.account_id, "note 3"),
        (4, "rollback", admin.account_id, "back to basics"),
    ]
    assert all(v["at"] for v in history["versions"])
    assert history["versions"][3]["changed_fields"] == ["system_prompt", "persona"]
    names = [type(e).__name__ for e in stored_events(container, prompt_config_id(uuid.UUID(admin.workspace_id)))]
    assert names == ["Created", "DraftSaved", "VersionPublished", "DraftSaved", "VersionPublished", "RolledBack"]

    # the diff: per field, with a line diff of the prompt
    d = client.get(f"{PROMPTS}/diff", params={"from": 2, "to": 3}, headers=admin.headers).json()
    assert d["changed_fields"] == ["system_prompt"]
    assert f"-{prompts[2]}" in d["fields"]["system_prompt"]["unified_diff"]
    assert f"+{prompts[3]}" in d["fields"]["system_prompt"]["unified_diff"]
    assert d["fields"]["examples"]["changed"] is False and d["fields"]["persona"]["changed"] is False


def test_drafts_are_many_can_be_changed_and_discarded(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client, workspace="Drafts Co")
    one = draft(client, admin, {"examples": [{"user": "Where is my invoice?", "assistant": "Settings > Billing."}]})
    two = draft(client, admin, {"persona": {"tone": "warm and playful", "language": "de"}})
    assert one["content"]["examples"] == [
        {"id": "ex-1", "user": "Where is my invoice?", "assistant": "Settings > Billing."}
    ]
    assert two["content"]["persona"]["language"] == "de" and two["content"]["persona"]["max_response_words"] == 200
    changed = client.put(
        f"{PROMPTS}/drafts/{one['draft_id']}", json={"topic_rules": {"Billing": ["invoice"]}}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["content"]["topic_rules"] == {"Billing": ["invoice"]}
    assert changed.json()["content"]["examples"] == one["content"]["examples"]
    listed = client.get(PROMPTS, headers=admin.headers).json()
    assert sorted(d["draft_id"] for d in listed["drafts"]) == sorted([one["draft_id"], two["draft_id"]])
    assert listed["versioned"] is False and listed["live_version"] == 1  # drafts are not live
    assert client.delete(f"{PROMPTS}/drafts/{two['draft_id']}", headers=admin.headers).status_code == 204
    assert [d["draft_id"] for d in client.get(PROMPTS, headers=admin.headers).json()["drafts"]] == [one["draft_id"]]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"system_prompt": "  "}, "empty_system_prompt"),
        ({"system_prompt": "x" * 20_001}, "prompt_too_long"),
        ({"examples": [{"user": "Where is my invoice?"}]}, "invalid_example"),
        ({"examples": [{"user": "", "assistant": "Settings > Billing."}]}, "invalid_example"),
        ({"persona": {"primary_model": "llama-3-70b"}}, "unknown_model"),
        ({"persona": {"fallback_model": "mistral-large"}}, "unknown_model"),
        ({"persona": {"max_response_tokens": 8193}}, "out_of_range"),
        ({"persona": {"max_response_tokens": 15}}, "out_of_range"),
        ({"persona": {"escalation_threshold": -0.1}}, "out_of_range"),
        ({"topic_rules": {"Billing": "invoice"}}, "invalid_topic_rules"),
        ({"escalation": {"routing": {"default": ""}}}, "invalid_escalation"),
        ({"escalation": {"currency": "XYZ"}}, "unknown_currency"),
        ({"escalation": {"currency": "euro"}}, "invalid_escalation"),
        ({"escalation": {"rates": {"GBP": -1}}}, "out_of_range"),
        ({"escalation": {"compliance_questions": "sometimes"}}, "invalid_escalation"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_writes_nothing(
    client: httpx.Client, container: Container, body: dict[str, Any], code: str
) -> None:
    admin, _ = sign_up(client, workspace="Bad Input Co")
    refused(container, lambda: client.post(f"{PROMPTS}/drafts", json=body, headers=admin.headers), 422, code)
    made = draft(client, admin, {})
    path = f"{PROMPTS}/drafts/{made['draft_id']}"
    refused(container, lambda: client.put(path, json=body, headers=admin.headers), 422, code)


def test_unknown_drafts_and_versions_and_malformed_requests_are_refused(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client, workspace="Missing Co")
    h = admin.headers
    refused(
        container,
        lambda: client.post(f"{PROMPTS}/rollback", json={"to_version": 7}, headers=h),
        404,
        "version_not_found",
    )
    refused(
        container, lambda: client.post(f"{PROMPTS}/rollback", json={"to_version": 1}, headers=h), 409, "already_live"
    )
    refused(
        container, lambda: client.post(f"{PROMPTS}/drafts/d_nope/publish", json={}, headers=h), 404, "draft_not_found"
    )
    refused(
        container,
        lambda: client.put(f"{PROMPTS}/drafts/d_nope", json={"system_prompt": "x"}, headers=h),
        404,
        "draft_not_found",
    )
    refused(container, lambda: client.delete(f"{PROMPTS}/drafts/d_nope", headers=h), 404, "draft_not_found")
    refused(container, lambda: client.get(f"{PROMPTS}/versions/3", headers=h), 404, "version_not_found")
    refused(
        container,
        lambda: client.get(f"{PROMPTS}/diff", params={"from": 1, "to": 2}, headers=h),
        404,
        "version_not_found",
    )
    refused(
        container, lambda: client.post(f"{PROMPTS}/drafts", json={"tone": "warm"}, headers=h), 400, "invalid_request"
    )
    refused(
        container, lambda: client.post(f"{PROMPTS}/rollback", json={"note": "x"}, headers=h), 400, "invalid_request"
    )
    made = draft(client, admin, {})
    refused(
        container, lambda: client.put(f"{PROMPTS}/drafts/{made['draft_id']}", json={}, headers=h), 422, "no_changes"
    )
    refused(
        container,
        lambda: client.post(f"{PROMPTS}/drafts/{made['draft_id']}/publish", json={"note": "x" * 501}, headers=h),
        400,
        "invalid_request",
    )


def test_publishing_on_a_stale_version_is_a_409_saying_what_changed(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client, workspace="Conflict Co")
    other = invite_and_join(client, admin, "admin")
    mine = draft(client, admin, {"persona": {"tone": "formal"}})
    theirs = draft(client, other, {"system_prompt": "Their prompt.", "examples": []})
    publish(client, other, theirs["draft_id"], "their change", 1)
    body = refused(
        container,
        lambda: client.post(
            f"{PROMPTS}/drafts/{mine['draft_id']}/publish", json={"based_on_version": 1}, headers=admin.headers
        ),
        409,
        "version_conflict",
    )
    assert body["published_since"] == [
        {
            "version": 2,
            "kind": "published",
            "by": other.account_id,
            "note": "their change",
            "changed_fields": ["system_prompt", "examples"],
        }
    ]
    # the draft remembers its base too: publishing without based_on_version conflicts the same way
    refused(
        container,
        lambda: client.post(f"{PROMPTS}/drafts/{mine['draft_id']}/publish", json={}, headers=admin.headers),
        409,
        "version_conflict",
    )
    assert publish(client, admin, mine["draft_id"], "reviewed", 2)["version"] == 3


def test_admins_write_agents_read_viewers_and_other_workspaces_see_nothing(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client, workspace="Roles Co")
    agent = invite_and_join(client, admin, "agent")
    viewer = invite_and_join(client, admin, "viewer")
    stranger, _ = sign_up(client, workspace="Elsewhere")
    made = draft(client, admin, {"system_prompt": "Roles Co only."})
    publish(client, admin, made["draft_id"], "")
    for path in (PROMPTS, f"{PROMPTS}/history", f"{PROMPTS}/versions/2"):
        assert client.get(path, headers=agent.headers).status_code == 200
        refused(container, lambda path=path: client.get(path, headers=viewer.headers), 403, "permission_denied")
    refused(container, lambda: client.get(PROMPTS), 401, "missing_credentials")
    agent_draft = lambda: client.post(f"{PROMPTS}/drafts", json={}, headers=agent.headers)  # noqa: E731
    refused(container, agent_draft, 403, "permission_denied")
    refused(
        container,
        lambda: client.post(f"{PROMPTS}/rollback", json={"to_version": 1}, headers=agent.headers),
        403,
        "permission_denied",
    )
    # another workspace's admin sees only its own configuration
    theirs = client.get(PROMPTS, headers=stranger.headers).json()
    assert theirs["live_version"] == 1 and theirs["live"]["content"]["system_prompt"] == DEFAULT_SYSTEM_PROMPT
    refused(
        container,
        lambda: client.post(f"{PROMPTS}/drafts/{made['draft_id']}/publish", json={}, headers=stranger.headers),
        404,
        "draft_not_found",
    )


def test_with_the_approval_setting_a_second_admin_approves_before_a_draft_is_published(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client, workspace="Gate Co")
    reviewer = invite_and_join(client, admin, "admin")
    on = client.patch("/api/settings", json={"prompt_approval_required": True}, headers=admin.headers)
    assert on.status_code == 200 and on.json()["prompt_approval_required"] is True
    made = draft(client, admin, {"system_prompt": "Needs a second pair of eyes."})
    assert (made["review"], made["editors"]) == ("pending", [admin.account_id])
    path = f"{PROMPTS}/drafts/{made['draft_id']}"
    refused(container, lambda: client.post(f"{path}/publish", json={}, headers=admin.headers), 409, "approval_required")
    refused(container, lambda: client.post(f"{path}/approve", json={}, headers=admin.headers), 409, "own_draft")
    rejected = client.post(f"{path}/reject", json={"note": "Say hello first."}, headers=reviewer.headers)
    assert rejected.status_code == 201 and rejected.json()["review"] == "rejected"
    assert rejected.json()["review_note"] == "Say hello first."
    client.put(path, json={"system_prompt": "Hello! Needs a second pair of eyes."}, headers=admin.headers)
    refused(container, lambda: client.post(f"{path}/publish", json={}, headers=admin.headers), 409, "approval_required")
    approved = client.post(f"{path}/approve", json={"note": "Looks right."}, headers=reviewer.headers)
    assert approved.status_code == 201 and approved.json()["reviewed_by"] == reviewer.account_id
    published = publish(client, admin, made["draft_id"], "approved change")
    assert (published["version"], published["by"], published["approved_by"]) == (
        2,
        admin.account_id,
        reviewer.account_id,
    )
    history = client.get(f"{PROMPTS}/history", headers=admin.headers).json()["versions"]
    assert history[-1]["approved_by"] == reviewer.account_id
    names = [type(e).__name__ for e in stored_events(container, prompt_config_id(uuid.UUID(admin.workspace_id)))]
    assert names == ["Created", "DraftSaved", "DraftRejected", "DraftSaved", "DraftApproved", "VersionPublished"]


def test_the_prompt_endpoints_are_in_the_openapi_schema_and_their_events_count_as_storage(
    client: httpx.Client,
) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for path in ("", "/drafts", "/drafts/{draft_id}/publish", "/rollback", "/history", "/diff"):
        assert PROMPTS + path in paths, sorted(paths)
    assert paths[PROMPTS + "/drafts/{draft_id}/publish"]["post"]["operationId"] == "publishPrompt"
    admin, _ = sign_up(client, workspace="Storage Co")
    before = client.get("/api/settings", headers=admin.headers).json()["storage_used_bytes"]
    draft(client, admin, {"system_prompt": "A draft takes room. " * 50})
    assert client.get("/api/settings", headers=admin.headers).json()["storage_used_bytes"] > before + 1000


def test_a_chat_service_reads_the_live_version_with_the_workspace_within_its_cache_ttl(
    client: httpx.Client, container: Container
) -> None:
    # Given a chat service caching workspaces (and their live prompt version) for 0.3 s, which has just read one
    admin, body = sign_up(client, workspace="Cache Co")
    workspace_id, by = uuid.UUID(admin.workspace_id), uuid.UUID(admin.account_id)
    chat_service = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0.3)
    asked_at = time.monotonic()  # the cache entry is stamped no earlier than this
    first = asyncio.run(chat_service.workspace(body["widget_key"]))
    assert chat_service.prepared(first).prompt_version == 1
    # When an admin publishes version 2
    made = save_cmd.execute(container.app, save_cmd.SavePromptDraft(workspace_id, by, {"system_prompt": "Two."}))
    publish_cmd.execute(container.app, publish_cmd.PublishPrompt(workspace_id, by, made.draft_id))
    # I expect version 1 while the entry is surely fresh (a read that ended within the TTL of the earliest stamp;
    # on a loaded machine the publish may already have taken longer, and then only the second half is checked)
    cached = asyncio.run(chat_service.workspace(body["widget_key"]))
    if time.monotonic() - asked_at < 0.3:
        assert chat_service.prepared(cached).prompt_version == 1
    # then version 2, never before the TTL has passed
    deadline = time.monotonic() + 5
    while chat_service.prepared(asyncio.run(chat_service.workspace(body["widget_key"]))).prompt_version != 2:
        assert time.monotonic() < deadline, "the published version never became live"
        time.sleep(0.05)
    assert time.monotonic() - asked_at >= 0.3
    assert chat_service.prepared(asyncio.run(chat_service.workspace(body["widget_key"]))).system.startswith("Two.")
