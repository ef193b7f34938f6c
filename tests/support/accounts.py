"""Helpers for auth tests: sign up, invite and accept over HTTP; bearer headers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "tulip-Harbor-92"


def unique_email(prefix: str = "user") -> str:
    """An email no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of an access token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    """A signed-in member: email, ids, tokens."""

    email: str
    account_id: str
    workspace_id: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        """Bearer header of the current access token."""
        return bearer(self.access_token)


def person(email: str, body: dict[str, Any]) -> Person:
    """A Person from a session response body."""
    return Person(
        email,
        body["account_id"],
        body["workspace_id"],
        body["role"],
        body["access_token"],
        body["refresh_token"],
    )


def sign_up(client: httpx.Client, email: str | None = None, workspace: str = "Acme") -> tuple[Person, dict[str, Any]]:
    """A new workspace and its admin; also returns the whole response body."""
    email = email or unique_email("admin")
    response = client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": "Ada Admin", "workspace_name": workspace},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return person(email, body["session"]), body


def invite_and_join(client: httpx.Client, admin: Person, role: str, email: str | None = None) -> Person:
    """Invite an email with ``role`` and accept as a new account."""
    email = email or unique_email(role)
    invited = client.post("/api/team/invites", json={"email": email, "role": role}, headers=admin.headers)
    assert invited.status_code == 201, invited.text
    accepted = client.post(
        "/api/team/invites/accept",
        json={"token": invited.json()["token"], "password": PASSWORD, "name": f"{role.title()} Person"},
    )
    assert accepted.status_code == 200, accepted.text
    return person(email, accepted.json())
