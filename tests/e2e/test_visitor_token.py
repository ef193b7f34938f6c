"""End to end over the real server (issue 23.3): the public widget key alone opens no conversation.

A widget reads or acts on a conversation only with the visitor token POST /api/chat gave it when the conversation
started (or, where the workspace requires it, a verified identity); the token is rotated when the visitor's identity
changes; only its hash is stored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import httpx

from chatassist.bootstrap import Container
from domain.conversation import Conversation
from domain.visitor_token import visitor_token_hash
from tests.conftest import chat, event_names, stored_events
from tests.support.accounts import invite_and_join, sign_up
from tests.support.visitors import token_of, widget_headers

Call = Callable[[httpx.Client, str, dict[str, str]], httpx.Response]
# Everything a widget can do with an existing conversation.
CALLS: dict[str, Call] = {
    "transcript": lambda c, cid, h: c.get(f"/api/conversations/{cid}", headers=h),
    "events": lambda c, cid, h: c.get(f"/api/conversations/{cid}/events?after=999", headers=h),
    "csat": lambda c, cid, h: c.post(f"/api/conversations/{cid}/csat", json={"score": 1}, headers=h),
    "resolve": lambda c, cid, h: c.post(f"/api/conversations/{cid}/resolve", headers=h),
    "close": lambda c, cid, h: c.post(f"/api/conversations/{cid}/close", headers=h),
    "message": lambda c, cid, h: c.post(
        "/api/chat",
        json={"message": "Anything else?", "conversation_id": cid, "user": {"id": "visitor-1"}},
        headers={**h, "Accept": "application/json"},
    ),
}


def last_event(container: Container) -> int:
    """The newest notification id of the event store (to prove a refusal wrote nothing)."""
    return container.app.recorder.max_notification_id() or 0


def refused(response: httpx.Response, status: int, code: str) -> str:
    """A JSON error with this status and code and a sentence; returns the sentence."""
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    message = response.json()["message"]
    assert isinstance(message, str) and message.endswith(".") and len(message.split()) > 8
    return str(message)


def test_a_viewer_with_the_public_key_and_a_conversation_id_reads_nothing(
    offline_client: httpx.Client, client: httpx.Client, container: Container
) -> None:
    # Given a workspace with a Viewer, and a visitor's conversation the Viewer sees in the activity feed
    admin, body = sign_up(client, workspace="Token A")
    viewer = invite_and_join(client, admin, "viewer")
    widget_key = body["widget_key"]
    conversation_id = chat(offline_client, widget_key, "How do I reset my password?")[0][1]["conversation_id"]
    container.wait_for_projections()
    feed = client.get("/api/analytics/activity", headers=viewer.headers)
    assert feed.status_code == 200 and conversation_id in feed.text
    before = last_event(container)
    # When the Viewer (or anyone) uses the public widget key with that id, alone or beside their session
    for name, call in CALLS.items():
        for headers in ({"X-Widget-Key": widget_key}, {**viewer.headers, "X-Widget-Key": widget_key}):
            # I expect a 401 asking for the visitor token, with nothing read or written
            message = refused(call(offline_client, conversation_id, headers), 401, "visitor_token_required")
            assert "X-Visitor-Token" in message, name
        # and a guessed token is a 403
        guessed = {"X-Widget-Key": widget_key, "X-Visitor-Token": "vt_" + "x" * 43}
        refused(call(offline_client, conversation_id, guessed), 403, "invalid_visitor_token")
    assert last_event(container) == before
    # while the Viewer's own session still gets the role's answer, and members who may monitor chats read it
    assert client.get(f"/api/conversations/{conversation_id}", headers=viewer.headers).status_code == 403
    assert client.get(f"/api/conversations/{conversation_id}", headers=admin.headers).status_code == 200
    # and the widget that holds the token reads it
    read = offline_client.get(
        f"/api/conversations/{conversation_id}", headers=widget_headers(widget_key, conversation_id)
    )
    assert read.status_code == 200 and read.json()["messages"][0]["text"] == "How do I reset my password?"


def test_the_token_of_one_conversation_does_not_open_another(
    offline_client: httpx.Client, client: httpx.Client, container: Container
) -> None:
    # Given two conversations of one workspace, by two visitors
    _, body = sign_up(client, workspace="Token B")
    widget_key = body["widget_key"]
    a = chat(offline_client, widget_key, "How do I reset my password?", user_id="visitor-1")[0][1]["conversation_id"]
    b = chat(offline_client, widget_key, "Where are my invoices?", user_id="visitor-2")[0][1]["conversation_id"]
    assert token_of(a) != token_of(b)
    container.wait_for_projections()
    before = last_event(container)
    # When A's token is sent for B, for every action
    for call in CALLS.values():
        response = call(offline_client, b, {"X-Widget-Key": widget_key, "X-Visitor-Token": token_of(a)})
        # I expect a 403 and nothing written
        refused(response, 403, "invalid_visitor_token")
    assert last_event(container) == before
    # and each token still opens its own conversation
    for own in (a, b):
        response = CALLS["transcript"](offline_client, own, widget_headers(widget_key, own))
        assert response.status_code == 200 and response.json()["id"] == own


def test_a_new_identity_rotates_the_token_and_only_its_hash_is_stored(
    offline_client: httpx.Client, client: httpx.Client, container: Container
) -> None:
    # Given an anonymous visitor's conversation (the token is issued once, in the first `start` event)
    _, body = sign_up(client, workspace="Token C")
    widget_key = body["widget_key"]
    first = chat(offline_client, widget_key, "How do I reset my password?", user_id="anon_1234")
    conversation_id = first[0][1]["conversation_id"]
    old = first[0][1]["visitor_token"]
    same = chat(offline_client, widget_key, "And my email?", conversation_id=conversation_id, user_id="anon_1234")
    assert "visitor_token" not in same[0][1]  # the same identity keeps its token
    # When the visitor signs in on the customer's site and writes again as user-42 (the widget sends its token)
    signed_in = chat(
        offline_client, widget_key, "I'm signed in now", conversation_id=conversation_id, user_id="user-42"
    )
    # I expect a new token in `start`, and the conversation to be user-42's
    new = signed_in[0][1]["visitor_token"]
    assert new.startswith("vt_") and new != old and token_of(conversation_id) == new
    assert signed_in[-1][0] == "done"
    assert "VisitorChanged" in event_names(container, conversation_id)
    conversation = container.app.repository.get(uuid.UUID(conversation_id))
    assert isinstance(conversation, Conversation) and conversation.end_user_id == "user-42"
    # and the old token to open nothing any more, while the new one does
    container.wait_for_projections()
    stale = {"X-Widget-Key": widget_key, "X-Visitor-Token": old}
    for call in CALLS.values():
        refused(call(offline_client, conversation_id, stale), 403, "invalid_visitor_token")
    fresh = CALLS["transcript"](offline_client, conversation_id, widget_headers(widget_key, conversation_id))
    assert fresh.status_code == 200 and [m["text"] for m in fresh.json()["messages"] if m["role"] == "user"] == [
        "How do I reset my password?",
        "And my email?",
        "I'm signed in now",
    ]
    # and the events to hold the tokens' hashes only, never a token
    stored = stored_events(container, conversation_id)
    dumped = json.dumps([vars(e) for e in stored], default=str)
    assert old not in dumped and new not in dumped
    assert stored[0].visitor_token_sha256 == visitor_token_hash(old)
    changed = next(e for e in stored if type(e).__name__ == "VisitorChanged")
    assert changed.visitor_token_sha256 == visitor_token_hash(new)
    raw = container.app.recorder.select_notifications(start=1, limit=10**9)
    assert not any(old.encode() in r.state or new.encode() in r.state for r in raw)


def test_json_replies_carry_the_token_of_a_new_conversation(offline_client: httpx.Client, client: httpx.Client) -> None:
    _, body = sign_up(client, workspace="Token D")
    headers = {"X-Widget-Key": body["widget_key"], "Accept": "application/json"}
    first = offline_client.post(
        "/api/chat", json={"message": "How do I reset my password?", "user": {"id": "v"}}, headers=headers
    )
    assert first.status_code == 200, first.text
    token, conversation_id = first.json()["visitor_token"], first.json()["conversation_id"]
    assert token.startswith("vt_") and len(token) > 40
    follow = offline_client.post(
        "/api/chat",
        json={"message": "Thanks", "user": {"id": "v"}, "conversation_id": conversation_id},
        headers={**headers, "X-Visitor-Token": token},
    )
    assert follow.status_code == 200 and follow.json()["visitor_token"] is None


def test_a_conversation_from_before_visitor_tokens_is_closed_to_widgets_but_not_to_members(
    client: httpx.Client, container: Container
) -> None:
    # Given a conversation stored without a token hash (as every conversation before this release)
    admin, body = sign_up(client, workspace="Token E")
    conversation = Conversation(uuid.UUID(admin.workspace_id), "widget", {"user_id": "old-visitor"})
    conversation.receive("m-1", "An old question")
    container.app.save(conversation)
    container.wait_for_projections()
    path = f"/api/conversations/{conversation.id}"
    # I expect the widget refused whatever token it sends, and a member still reading it
    refused(client.get(path, headers={"X-Widget-Key": body["widget_key"]}), 401, "visitor_token_required")
    any_token = {"X-Widget-Key": body["widget_key"], "X-Visitor-Token": "vt_anything"}
    assert "predates" in refused(client.get(path, headers=any_token), 403, "invalid_visitor_token")
    assert client.get(path, headers=admin.headers).status_code == 200


def test_browsers_may_send_the_token_across_origins(client: httpx.Client) -> None:
    # The widget runs on the customer's site: the preflight must allow the token header
    preflight = client.options(
        "/api/conversations/" + str(uuid.uuid4()),
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-visitor-token",
        },
    )
    assert preflight.status_code == 204
    assert "X-Visitor-Token" in preflight.headers["access-control-allow-headers"]
