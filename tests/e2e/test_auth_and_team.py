"""Sign-up, sign-in, sessions and the team, end to end over the real server, PostgreSQL and Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import jwt
import psycopg
import pytest

from chatassist.bootstrap import Container
from commands.invite_member import cmd as invite_member
from tests.conftest import TEST_SECRET_KEY, chat, event_names, stored_events
from tests.support.accounts import PASSWORD, bearer, invite_and_join, sign_up, unique_email
from tests.support.visitors import widget_headers


def last_event(container: Container) -> int | None:
    """The newest notification id of the event store."""
    return container.app.recorder.max_notification_id()


def refused(container: Container, call: Callable[[], httpx.Response], status: int, code: str) -> httpx.Response:
    """Make a request that must be refused with ``status`` and ``code`` and write no event."""
    before = last_event(container)
    response = call()
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    assert set(response.json()) >= {"code", "message"}
    assert last_event(container) == before, "a refused request wrote an event"
    return response


def test_sign_up_login_me_invite_accept_change_role_remove(client: httpx.Client, container: Container) -> None:
    # Given a team that signs up
    admin, body = sign_up(client, workspace="Acme Support")
    assert body["plan"] == "trial" and body["widget_key"].startswith("wk_") and admin.role == "admin"
    workspace_id = uuid.UUID(admin.workspace_id)
    assert event_names(container, workspace_id)[:2] == ["Created", "PlanStarted"]
    added = stored_events(container, workspace_id)[2]
    assert type(added).__name__ == "MemberAdded" and added.role == "admin" and str(added.by) == admin.account_id
    # When the admin signs in again
    login = client.post("/api/auth/login", json={"email": admin.email.upper(), "password": PASSWORD})
    assert login.status_code == 200 and login.json()["workspace_id"] == admin.workspace_id
    # I expect /me to tell who, where and what they may do
    me = client.get("/api/auth/me", headers=bearer(login.json()["access_token"])).json()
    assert (me["email"], me["name"], me["role"], me["workspace_name"]) == (
        admin.email,
        "Ada Admin",
        "admin",
        "Acme Support",
    )
    assert "team.manage" in me["permissions"] and me["plan"] == "trial" and me["trial_ends_at"]
    # When the admin invites an agent, who accepts
    agent = invite_and_join(client, admin, "agent")
    assert agent.role == "agent" and agent.workspace_id == admin.workspace_id
    # I expect the team to list both with roles and last-active time
    team = client.get("/api/team", headers=admin.headers).json()
    roles = {m["email"]: (m["role"], m["last_active_at"] is not None) for m in team["members"]}
    assert roles == {admin.email: ("admin", True), agent.email: ("agent", False)}
    assert team["seats_used"] == 2 and team["seat_limit"] == 20
    # When the admin makes the agent a viewer
    changed = client.patch(f"/api/team/members/{agent.account_id}", json={"role": "viewer"}, headers=admin.headers)
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    # I expect it to apply at once, with the same token (the role in the token is only a hint)
    assert client.get("/api/auth/me", headers=agent.headers).json()["role"] == "viewer"
    # When the admin removes them
    removed = client.delete(f"/api/team/members/{agent.account_id}", headers=admin.headers)
    assert removed.status_code == 204
    # I expect their session to stop working at once, and every change on record with its actor
    gone = client.get("/api/auth/me", headers=agent.headers)
    assert gone.status_code == 401 and gone.json()["code"] == "not_a_member"
    names = event_names(container, workspace_id)
    assert names[-5:] == ["InviteIssued", "InviteAccepted", "MemberAdded", "RoleChanged", "MemberRemoved"]
    team_events = stored_events(container, workspace_id)[-5:]
    assert [str(e.by) for e in team_events] == [admin.account_id, agent.account_id, agent.account_id] + [
        admin.account_id
    ] * 2
    # and a removed member cannot sign in to that workspace any more
    refused(
        container,
        lambda: client.post("/api/auth/login", json={"email": agent.email, "password": PASSWORD}),
        403,
        "no_workspace",
    )


def test_the_session_cookie_is_httponly_secure_lax_and_works_alone(client: httpx.Client) -> None:
    admin, _ = sign_up(client)
    response = client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert {"ca_session", "ca_refresh"} <= set(cookies)
    for attribute in ("httponly", "secure", "samesite=lax", "path=/"):
        assert attribute in cookies["ca_session"]
    assert "samesite=strict" in cookies["ca_refresh"] and "path=/api/auth" in cookies["ca_refresh"]
    session = response.json()["access_token"]
    me = client.get("/api/auth/me", headers={"Cookie": f"ca_session={session}"})
    assert me.status_code == 200 and me.json()["email"] == admin.email


def test_refresh_rotates_the_pair_and_logout_signs_the_whole_session_out(
    client: httpx.Client, container: Container
) -> None:
    admin, _ = sign_up(client)
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert refreshed.status_code == 200
    access, second_refresh = refreshed.json()["access_token"], refreshed.json()["refresh_token"]
    assert access != admin.access_token and client.get("/api/auth/me", headers=bearer(access)).status_code == 200
    assert second_refresh != admin.refresh_token
    # refresh by cookie too (with the rotated token: each refresh token works once)
    by_cookie = client.post("/api/auth/refresh", headers={"Cookie": f"ca_refresh={second_refresh}"})
    assert by_cookie.status_code == 200
    latest_refresh = by_cookie.json()["refresh_token"]
    # When the admin logs out with the bearer alone (no refresh token sent)
    out = client.post("/api/auth/logout", headers=bearer(access))
    assert out.status_code == 200 and out.json() == {"ok": True}
    assert any(c.startswith("ca_session=") and "max-age=0" in c.lower() for c in out.headers.get_list("set-cookie"))
    # I expect every token of that sign-in refused: the access tokens and the refresh token it never sent
    for token in (access, admin.access_token, by_cookie.json()["access_token"]):
        refused(container, lambda t=token: client.get("/api/auth/me", headers=bearer(t)), 401, "token_revoked")
    refused(
        container,
        lambda: client.post("/api/auth/refresh", json={"refresh_token": latest_refresh}),
        401,
        "token_revoked",
    )
    # while another sign-in of the same admin is untouched
    other = client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert client.get("/api/auth/me", headers=bearer(other.json()["access_token"])).status_code == 200
    # and the denylist entry lives only as long as the token would have
    assert container.auth is not None
    claims = jwt.decode(access, options={"verify_signature": False})
    ttl = container.redis.ttl(f"chatassist:auth:revoked:{claims['jti']}")
    assert 0 < ttl <= 15 * 60  # type: ignore[operator]


def test_a_refresh_token_used_twice_signs_its_session_out(client: httpx.Client, container: Container) -> None:
    # Given a session refreshed once by its owner
    admin, _ = sign_up(client)
    owner = client.post("/api/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert owner.status_code == 200
    # When a stolen copy of the first refresh token is used again
    replay = lambda: client.post("/api/auth/refresh", json={"refresh_token": admin.refresh_token})  # noqa: E731
    # I expect it refused as reused, and every token of that session (the owner's new ones too) signed out
    refused(container, replay, 401, "refresh_token_reused")
    new_access, new_refresh = owner.json()["access_token"], owner.json()["refresh_token"]
    refused(container, lambda: client.get("/api/auth/me", headers=bearer(new_access)), 401, "token_revoked")
    refused(
        container,
        lambda: client.post("/api/auth/refresh", json={"refresh_token": new_refresh}),
        401,
        "token_revoked",
    )


def test_five_failures_throttle_the_email_with_retry_after(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    for _ in range(5):
        refused(
            container,
            lambda: client.post("/api/auth/login", json={"email": admin.email, "password": "wrong-Password-1"}),
            401,
            "invalid_credentials",
        )
    # the right password is refused too while throttled, and says when to come back
    throttled = refused(
        container,
        lambda: client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD}),
        429,
        "too_many_attempts",
    )
    assert 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    # an unknown email is throttled exactly the same way (no hint that it does not exist)
    ghost = unique_email("ghost")
    for _ in range(5):
        client.post("/api/auth/login", json={"email": ghost, "password": PASSWORD})
    again = client.post("/api/auth/login", json={"email": ghost, "password": PASSWORD})
    assert again.status_code == 429 and again.json()["code"] == "too_many_attempts"
    # other emails are unaffected
    other, _ = sign_up(client)
    assert client.post("/api/auth/login", json={"email": other.email, "password": PASSWORD}).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    wrong = refused(
        container,
        lambda: client.post("/api/auth/login", json={"email": admin.email, "password": "Not-the-password-1"}),
        401,
        "invalid_credentials",
    )
    unknown = refused(
        container,
        lambda: client.post("/api/auth/login", json={"email": unique_email(), "password": "Not-the-password-1"}),
        401,
        "invalid_credentials",
    )
    assert wrong.json() == unknown.json() and wrong.headers.get("set-cookie") is None


def test_bad_tokens_are_refused_with_stable_codes(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    head, payload, signature = admin.access_token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    forged = jwt.encode(
        {**jwt.decode(admin.access_token, options={"verify_signature": False}), "role": "admin"}, "x" * 40
    )
    now = int(time.time())
    claims = {"sub": admin.account_id, "ws": admin.workspace_id, "role": "admin", "typ": "access", "jti": "j1"}
    expired = jwt.encode({**claims, "iat": now - 1000, "exp": now - 10}, TEST_SECRET_KEY, algorithm="HS256")
    none_alg = jwt.encode({**claims, "exp": now + 100}, None, algorithm="none")
    cases = [
        ({}, 401, "missing_credentials"),
        (bearer(tampered), 401, "invalid_token"),
        (bearer(forged), 401, "invalid_token"),
        (bearer(none_alg), 401, "invalid_token"),
        (bearer(expired), 401, "token_expired"),
        (bearer(admin.refresh_token), 401, "invalid_token"),  # a refresh token is not an access token
        (bearer("x" * 5000), 401, "invalid_token"),
    ]
    for headers, status, code in cases:
        refused(container, lambda h=headers: client.get("/api/auth/me", headers=h), status, code)  # type: ignore[misc]
    refused(
        container,
        lambda: client.post("/api/auth/refresh", json={"refresh_token": admin.access_token}),
        401,
        "invalid_token",
    )


def test_roles_refused_weak_passwords_taken_emails_and_invites(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    viewer = invite_and_join(client, admin, "viewer")
    agent = invite_and_join(client, admin, "agent")
    invite = {"email": unique_email(), "role": "agent"}
    for member in (viewer, agent):
        refused(
            container,
            lambda m=member: client.post("/api/team/invites", json=invite, headers=m.headers),  # type: ignore[misc]
            403,
            "permission_denied",
        )
    refused(
        container,
        lambda: client.patch(f"/api/team/members/{admin.account_id}", json={"role": "viewer"}, headers=agent.headers),
        403,
        "permission_denied",
    )
    refused(
        container,
        lambda: client.delete(f"/api/team/members/{agent.account_id}", headers=viewer.headers),
        403,
        "permission_denied",
    )
    # the last admin
    refused(
        container,
        lambda: client.patch(f"/api/team/members/{admin.account_id}", json={"role": "agent"}, headers=admin.headers),
        409,
        "last_admin",
    )
    refused(
        container,
        lambda: client.delete(f"/api/team/members/{admin.account_id}", headers=admin.headers),
        409,
        "last_admin",
    )
    refused(
        container,
        lambda: client.patch(f"/api/team/members/{agent.account_id}", json={"role": "owner"}, headers=admin.headers),
        422,
        "invalid_role",
    )
    refused(
        container,
        lambda: client.delete(f"/api/team/members/{uuid.uuid4()}", headers=admin.headers),
        404,
        "member_not_found",
    )
    # weak passwords and a taken email at sign-up
    for weak in ("short1A!", "abcdefghijk1", "Password1234", "ChatAssist2026"):
        refused(
            container,
            lambda w=weak: client.post(  # type: ignore[misc]
                "/api/auth/signup",
                json={"email": unique_email(), "password": w, "name": "N", "workspace_name": "W"},
            ),
            422,
            "weak_password",
        )
    refused(
        container,
        lambda: client.post(
            "/api/auth/signup",
            json={"email": admin.email.title(), "password": PASSWORD, "name": "N", "workspace_name": "W"},
        ),
        409,
        "email_taken",
    )
    refused(
        container,
        lambda: client.post(
            "/api/auth/signup",
            json={"email": "nope", "password": PASSWORD, "name": "N", "workspace_name": "W"},
        ),
        422,
        "invalid_email",
    )
    refused(
        container,
        lambda: client.post("/api/auth/signup", json={"email": unique_email(), "password": PASSWORD}),
        400,
        "invalid_request",
    )
    # an invite is single-use
    email = unique_email("twice")
    token = client.post("/api/team/invites", json={"email": email, "role": "viewer"}, headers=admin.headers).json()[
        "token"
    ]
    first = client.post("/api/team/invites/accept", json={"token": token, "password": PASSWORD, "name": "Vi"})
    assert first.status_code == 200
    accept = {"token": token, "password": PASSWORD, "name": "Vi"}
    refused(container, lambda: client.post("/api/team/invites/accept", json=accept), 409, "invite_used")
    # an expired invite
    assert container.auth is not None
    expired = invite_member.execute(
        container.app,
        invite_member.InviteMember(
            uuid.UUID(admin.workspace_id), uuid.UUID(admin.account_id), unique_email(), "agent", timedelta(seconds=-1)
        ),
        container.auth.signer,
    )
    late = {"token": expired.token, "password": PASSWORD, "name": "Late"}
    refused(container, lambda: client.post("/api/team/invites/accept", json=late), 409, "invite_expired")
    # a tampered invite, and a weak password for the new account
    bad = {"token": expired.token[:-3] + "abc", "password": PASSWORD, "name": "X"}
    refused(container, lambda: client.post("/api/team/invites/accept", json=bad), 401, "invalid_invite")
    fresh = client.post("/api/team/invites", json={"email": unique_email(), "role": "viewer"}, headers=admin.headers)
    weak = {"token": fresh.json()["token"], "password": "short", "name": "X"}
    refused(container, lambda: client.post("/api/team/invites/accept", json=weak), 422, "weak_password")
    # an existing account accepting with the wrong password gets the sign-in answer
    other_admin, _ = sign_up(client)
    existing = client.post(
        "/api/team/invites", json={"email": other_admin.email, "role": "agent"}, headers=admin.headers
    ).json()["token"]
    wrong = {"token": existing, "password": "Wrong-password-9"}
    refused(container, lambda: client.post("/api/team/invites/accept", json=wrong), 401, "invalid_credentials")
    joined = client.post("/api/team/invites/accept", json={"token": existing, "password": PASSWORD})
    assert joined.status_code == 200 and joined.json()["account_id"] == other_admin.account_id
    # that person now chooses a workspace when signing in
    both = [
        client.post(
            "/api/auth/login", json={"email": other_admin.email, "password": PASSWORD, "workspace_id": ws}
        ).json()["role"]
        for ws in (admin.workspace_id, other_admin.workspace_id)
    ]
    assert both == ["agent", "admin"]


def test_seats_are_limited_to_twenty(client: httpx.Client, container: Container) -> None:
    admin, _ = sign_up(client)
    workspace_id = uuid.UUID(admin.workspace_id)
    from commands._common import update
    from domain.workspace import Workspace

    def fill(ws: Workspace) -> None:
        for _ in range(19):
            ws.add_member(uuid.uuid4(), "viewer", by=uuid.UUID(admin.account_id))

    update(container.app, workspace_id, Workspace, "workspace", fill)
    full = refused(
        container,
        lambda: client.post(
            "/api/team/invites", json={"email": unique_email(), "role": "viewer"}, headers=admin.headers
        ),
        409,
        "seats_full",
    )
    assert "20 seats" in full.json()["message"]


def test_chat_monitors_read_transcripts_with_their_token(
    offline_client: httpx.Client, client: httpx.Client, container: Container
) -> None:
    admin, body = sign_up(client)
    agent = invite_and_join(client, admin, "agent")
    viewer = invite_and_join(client, admin, "viewer")
    stranger, _ = sign_up(client)
    events = chat(offline_client, body["widget_key"], "How do I reset my password?")
    conversation_id = events[0][1]["conversation_id"]
    container.wait_for_projections()
    path = f"/api/conversations/{conversation_id}"
    for member in (admin, agent):
        read = client.get(path, headers=member.headers)
        assert read.status_code == 200 and read.json()["messages"][0]["text"] == "How do I reset my password?"
    refused(container, lambda: client.get(path, headers=viewer.headers), 403, "permission_denied")
    refused(container, lambda: client.get(path, headers=stranger.headers), 404, "conversation_not_found")
    # the public widget key opens it only with the visitor token the widget was given (issue 23.3): a Viewer who
    # read the conversation id in the activity feed gets nothing by adding the key to their own session
    key_only = {"X-Widget-Key": body["widget_key"]}
    refused(container, lambda: client.get(path, headers=key_only), 401, "visitor_token_required")
    refused(container, lambda: client.get(path, headers={**viewer.headers, **key_only}), 401, "visitor_token_required")
    assert client.get(path, headers=widget_headers(body["widget_key"], conversation_id)).status_code == 200


def test_no_password_hash_or_token_leaks_to_responses_logs_or_events(
    client: httpx.Client, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    responses: list[httpx.Response] = []
    admin, _ = sign_up(client)
    responses.append(client.post("/api/auth/login", json={"email": admin.email, "password": PASSWORD}))
    responses.append(client.post("/api/auth/login", json={"email": admin.email, "password": "Wrong-password-1"}))
    token = client.post("/api/team/invites", json={"email": unique_email(), "role": "agent"}, headers=admin.headers)
    responses.append(token)
    joined = client.post(
        "/api/team/invites/accept", json={"token": token.json()["token"], "password": "Another-pass-77", "name": "Al"}
    )
    responses.append(joined)
    for path in ("/api/auth/me", "/api/team"):
        responses.append(client.get(path, headers=admin.headers))
    tokens = [admin.access_token, admin.refresh_token, token.json()["token"], joined.json()["access_token"]]
    secrets_ = [PASSWORD, "Wrong-password-1", "Another-pass-77"]
    for response in responses:
        assert not any(s in response.text for s in secrets_) and "$argon2" not in response.text
    # every log line of the server side (the test's own HTTP client, httpx/httpcore, logs what it receives)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert not any(s in logged for s in [*secrets_, *tokens]) and "$argon2" not in logged
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute("SELECT topic, state FROM chatassist_events").fetchall()
    assert any(b"$argon2id$" in bytes(state) for _, state in rows), "expected the stored hashes of the accounts"
    for topic, state in rows:
        raw = bytes(state).decode("utf-8", "replace")
        assert not any(s in raw for s in [*secrets_, *tokens]), topic
        # the argon2id hash is stored only where it belongs: in the account's own events
        if "$argon2" in raw:
            assert topic.startswith("domain.account:Account.") and "argon2id" in raw, topic


def test_last_active_follows_requests_not_only_sign_ins(client: httpx.Client) -> None:
    # Given an admin and an agent who signed in when they joined
    admin, _ = sign_up(client)
    agent = invite_and_join(client, admin, "agent")

    def agent_last_active() -> str:
        team = client.get("/api/team", headers=admin.headers).json()
        return next(m["last_active_at"] or "" for m in team["members"] if m["email"] == agent.email)

    joined = agent_last_active()  # "" when joining recorded no sign-in
    # When the agent uses the API a while later
    deadline = time.monotonic() + 5
    while True:
        assert client.get("/api/auth/me", headers=agent.headers).status_code == 200
        if agent_last_active() > joined:
            break
        assert time.monotonic() < deadline, "last-active never moved past the sign-in time"
        time.sleep(0.25)
