"""End to end over the real server: allowed widget origins (with CORS), identity verification and its secret."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import httpx

from chatassist.bootstrap import Container
from domain.widget_security import widget_security_id
from tests.conftest import event_names, stored_events
from tests.support.accounts import Person, invite_and_join, sign_up

APP = "https://app.example.com"
SECURITY = "/api/widget/security"


def sign(secret: str, user_id: str) -> str:
    """What the customer's server computes (docs/widget-security.md)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def send(
    client: httpx.Client,
    widget_key: str,
    *,
    origin: str | None = None,
    user: dict[str, Any] | None = None,
    conversation_id: str | None = None,
) -> httpx.Response:
    """POST /api/chat as JSON."""
    headers = {"X-Widget-Key": widget_key, "Accept": "application/json"}
    if origin:
        headers["Origin"] = origin
    body = {"message": "How do I reset my password?", "user": user or {"id": "v1"}, "conversation_id": conversation_id}
    return client.post("/api/chat", json=body, headers=headers)


def last_event_id(container: Container) -> int:
    """The newest notification id of the event store (to prove a refusal wrote nothing)."""
    return container.app.recorder.max_notification_id() or 0


def workspace(client: httpx.Client) -> tuple[Person, str]:
    """A new workspace's admin and widget key."""
    admin, body = sign_up(client, workspace="Secure")
    return admin, body["widget_key"]


def refused(response: httpx.Response, status: int, code: str) -> None:
    """Assert the status and stable code."""
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


def test_only_allowed_origins_may_use_the_widget(client: httpx.Client, container: Container) -> None:
    # Given a workspace with the default (any origin): the widget works from anywhere, CORS answers "*"
    admin, widget_key = workspace(client)
    anywhere = send(client, widget_key, origin="https://anywhere.example")
    assert anywhere.status_code == 200, anywhere.text
    assert anywhere.headers["access-control-allow-origin"] == "*"
    # When the admin allows one origin
    changed = client.patch(SECURITY, json={"allowed_origins": [APP + "/"]}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_origins"] == [APP] and changed.json()["any_origin"] is False
    # I expect that origin to pass, with CORS reflecting it
    allowed = send(client, widget_key, origin=APP)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["vary"] == "Origin"
    # and another origin, or none, to be refused with nothing written and no CORS grant
    before = last_event_id(container)
    other = send(client, widget_key, origin="https://evil.example")
    refused(other, 403, "origin_not_allowed")
    assert "https://evil.example" in other.json()["message"] and "allowed origins" in other.json()["message"]
    assert "access-control-allow-origin" not in other.headers
    refused(send(client, widget_key), 403, "origin_not_allowed")
    conversation_id = allowed.json()["conversation_id"]
    for path in ("", "/resolve", "/close"):
        method = "GET" if not path else "POST"
        response = client.request(
            method,
            f"/api/conversations/{conversation_id}{path}",
            headers={"X-Widget-Key": widget_key, "Origin": "https://evil.example"},
        )
        refused(response, 403, "origin_not_allowed")
    csat = client.post(
        f"/api/conversations/{conversation_id}/csat",
        json={"score": 5},
        headers={"X-Widget-Key": widget_key, "Origin": "https://evil.example"},
    )
    refused(csat, 403, "origin_not_allowed")
    assert last_event_id(container) == before
    # A preflight carries no widget key: it is answered for any origin; the request itself is what is checked
    preflight = client.options(
        "/api/chat",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-widget-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://evil.example"
    assert "X-Widget-Key" in preflight.headers["access-control-allow-headers"]
    # Emptying the list allows any origin again; the change is an event naming its actor
    assert client.patch(SECURITY, json={"allowed_origins": []}, headers=admin.headers).status_code == 200
    assert send(client, widget_key, origin="https://evil.example").status_code == 200
    security_id = widget_security_id(uuid.UUID(admin.workspace_id))
    assert event_names(container, security_id) == ["Created", "AllowedOriginsChanged", "AllowedOriginsChanged"]
    assert all(str(e.by) == admin.account_id for e in stored_events(container, security_id)[1:])


def test_origins_are_validated(client: httpx.Client, container: Container) -> None:
    admin, _ = workspace(client)
    before = last_event_id(container)
    for bad in ("http://app.example.com", "https://app.example.com/path", "app.example.com", "https://", "*"):
        response = client.patch(SECURITY, json={"allowed_origins": [bad]}, headers=admin.headers)
        refused(response, 422, "invalid_origin")
    assert last_event_id(container) == before
    local = client.patch(
        SECURITY,
        json={"allowed_origins": ["http://localhost:3000", "HTTPS://Shop.Example.com:8443"]},
        headers=admin.headers,
    )
    assert local.json()["allowed_origins"] == ["http://localhost:3000", "https://shop.example.com:8443"]


def test_identity_verification_rejects_missing_and_forged_signatures(
    client: httpx.Client, container: Container
) -> None:
    # Given a workspace requiring identity verification
    admin, widget_key = workspace(client)
    on = client.patch(SECURITY, json={"require_identity_verification": True}, headers=admin.headers)
    assert on.status_code == 200 and on.json()["require_identity_verification"] is True
    secret = client.get(SECURITY, headers=admin.headers).json()["identity_secret"]
    assert secret == on.json()["identity_secret"] and len(secret) == 64
    # A correctly signed visitor chats
    good = send(client, widget_key, user={"id": "user-42", "signature": sign(secret, "user-42")})
    assert good.status_code == 200, good.text
    # A missing signature is 401, a forged one (or one for another id) 403, and neither writes anything
    before = last_event_id(container)
    refused(send(client, widget_key, user={"id": "user-42"}), 401, "identity_signature_required")
    refused(send(client, widget_key, user={"id": "user-42", "signature": "0" * 64}), 403, "invalid_identity_signature")
    stolen = {"id": "user-43", "signature": sign(secret, "user-42")}
    refused(send(client, widget_key, user=stolen), 403, "invalid_identity_signature")
    assert last_event_id(container) == before
    # When the admin rotates the secret, the old signature stops working and the new one works
    rotated = client.post(SECURITY + "/rotate-secret", headers=admin.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["identity_secret"]
    assert new_secret != secret and rotated.json()["secret_version"] == 1
    old = {"id": "user-42", "signature": sign(secret, "user-42")}
    refused(send(client, widget_key, user=old), 403, "invalid_identity_signature")
    fresh = send(client, widget_key, user={"id": "user-42", "signature": sign(new_secret, "user-42")})
    assert fresh.status_code == 200, fresh.text
    names = event_names(container, widget_security_id(uuid.UUID(admin.workspace_id)))
    assert names == ["Created", "IdentityVerificationChanged", "IdentitySecretRotated"]
    # The secret is never in an event
    assert all(
        new_secret not in repr(e) and secret not in repr(e)
        for e in stored_events(container, widget_security_id(uuid.UUID(admin.workspace_id)))
    )


def test_a_verified_visitor_sees_only_their_own_conversations(client: httpx.Client, container: Container) -> None:
    admin, widget_key = workspace(client)
    secret = client.patch(SECURITY, json={"require_identity_verification": True}, headers=admin.headers).json()[
        "identity_secret"
    ]

    def visitor(user_id: str) -> dict[str, str]:
        return {"X-Widget-Key": widget_key, "X-User-Id": user_id, "X-User-Signature": sign(secret, user_id)}

    started = send(client, widget_key, user={"id": "alice", "signature": sign(secret, "alice")})
    conversation_id = started.json()["conversation_id"]
    container.wait_for_projections()
    url = f"/api/conversations/{conversation_id}"
    # Alice reads her transcript; Bob, correctly signed, gets the same 404 as for a missing conversation
    assert client.get(url, headers=visitor("alice")).status_code == 200
    refused(client.get(url, headers=visitor("bob")), 404, "conversation_not_found")
    refused(client.get(url, headers={"X-Widget-Key": widget_key}), 401, "identity_signature_required")
    forged = {**visitor("alice"), "X-User-Signature": sign("guess", "alice")}
    refused(client.get(url, headers=forged), 403, "invalid_identity_signature")
    # Bob can neither rate, resolve nor close it, nor post into it; nothing is written
    before = last_event_id(container)
    refused(client.post(url + "/csat", json={"score": 1}, headers=visitor("bob")), 404, "conversation_not_found")
    refused(client.post(url + "/resolve", headers=visitor("bob")), 404, "conversation_not_found")
    refused(client.post(url + "/close", headers=visitor("bob")), 404, "conversation_not_found")
    into = send(
        client, widget_key, user={"id": "bob", "signature": sign(secret, "bob")}, conversation_id=conversation_id
    )
    refused(into, 404, "conversation_not_found")
    assert last_event_id(container) == before
    # Alice can
    assert client.post(url + "/csat", json={"score": 5}, headers=visitor("alice")).status_code == 200
    assert client.post(url + "/close", headers=visitor("alice")).status_code == 200
    # And a member with chat.monitor still reads it with their session
    assert client.get(url, headers=admin.headers).status_code == 200


def test_only_admins_manage_widget_security(client: httpx.Client, container: Container) -> None:
    admin, _ = workspace(client)
    agent, viewer = invite_and_join(client, admin, "agent"), invite_and_join(client, admin, "viewer")
    before = last_event_id(container)
    calls = [
        ("GET", SECURITY, None),
        ("PATCH", SECURITY, {"require_identity_verification": True}),
        ("POST", SECURITY + "/rotate-secret", None),
    ]
    for method, path, body in calls:
        for member in (agent, viewer):
            refused(client.request(method, path, json=body, headers=member.headers), 403, "permission_denied")
        refused(client.request(method, path, json=body), 401, "missing_credentials")
    assert last_event_id(container) == before
    # The agent's view never includes the secret: it got no 200 at all above; the admin's does
    assert "identity_secret" in client.get(SECURITY, headers=admin.headers).json()
    refused(client.patch(SECURITY, json={"allowed_origins": "x"}, headers=admin.headers), 400, "invalid_request")
