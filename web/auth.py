"""Sessions: signed JWTs (access 15 minutes, refresh 7 days), a Redis denylist for logout, sign-in throttling,
and ``authenticate`` / ``current_member``, which re-read the member's role from the workspace on every request.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
import redis
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import TooManyRequestsException

from commands._common import load
from commands._password_reset import LogSender, Sender
from commands._security import TokenSigner
from commands.application import ChatAssistApp
from domain.errors import NotFound, Unauthorized
from domain.permissions import PERMISSIONS, allows
from domain.workspace import Workspace
from web.ratelimit import RateLimits, count_hit

SESSION_COOKIE = "ca_session"
REFRESH_COOKIE = "ca_refresh"
REFRESH_COOKIE_PATH = "/api/auth"
MAX_TOKEN_CHARS = 4096
ACCESS, REFRESH = "access", "refresh"


@dataclass(frozen=True)
class Member:
    """The caller: an account, the workspace of its session, and its role there as of this request."""

    account_id: UUID
    workspace_id: UUID
    role: str
    jti: str
    exp: int

    def can(self, permission: str) -> bool:
        """True when the member's current role has ``permission``."""
        return allows(self.role, permission)

    @property
    def permissions(self) -> list[str]:
        """Every permission of the role, for the dashboard."""
        return [p for p in PERMISSIONS if self.can(p)]


@dataclass(frozen=True)
class Session:
    """A fresh pair of tokens."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


ACTIVE_TTL_S = 90 * 24 * 3600


class Auth:
    """Token issuing and checking, the denylist and the sign-in failure counter. Its methods block: call in a thread."""

    def __init__(
        self,
        app: ChatAssistApp,
        signer: TokenSigner,
        client: redis.Redis,
        *,
        access_ttl_s: int = 15 * 60,
        refresh_ttl_s: int = 7 * 24 * 3600,
        max_failures: int = 5,
        failure_window_s: int = 15 * 60,
        prefix: str = "chatassist:auth",
        reset_sender: Sender | None = None,
        public_url: str = "http://127.0.0.1:8000",
    ) -> None:
        self.app, self.signer, self.redis = app, signer, client
        self.reset_sender: Sender = reset_sender or LogSender(production=False)
        self.public_url = public_url
        self.access_ttl_s, self.refresh_ttl_s = access_ttl_s, refresh_ttl_s
        self.max_failures, self.failure_window_s = max_failures, failure_window_s
        self.prefix = prefix

    def issue(self, account_id: UUID, workspace_id: UUID, role: str) -> Session:
        """An access token (sub, ws, role as a hint, jti, exp) and a refresh token."""
        now_ms = int(time.time() * 1000)  # finer than ``iat``, for revoke_all
        access, _ = self.signer.sign(
            ACCESS, self.access_ttl_s, sub=str(account_id), ws=str(workspace_id), role=role, iat_ms=now_ms
        )
        refresh, _ = self.signer.sign(
            REFRESH, self.refresh_ttl_s, sub=str(account_id), ws=str(workspace_id), iat_ms=now_ms
        )
        return Session(access, refresh, self.access_ttl_s, self.refresh_ttl_s)

    def claims(self, token: str, typ: str) -> dict[str, Any]:
        """Claims of a genuine, unexpired, unrevoked token of kind ``typ``."""
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("The token is not valid: sign in again.", code="invalid_token")
        claims = self.signer.check(token, typ)
        revoked, not_before = self.redis.mget(
            self._revoked_key(str(claims["jti"])), self._not_before_key(str(claims.get("sub")))
        )
        issued_ms = int(claims.get("iat_ms") or int(claims.get("iat") or 0) * 1000)
        if revoked or (not_before is not None and issued_ms < int(not_before)):
            raise Unauthorized("This session has been signed out: sign in again.", code="token_revoked")
        return claims

    def member(self, claims: dict[str, Any]) -> Member:
        """The member named by the claims, with the role the workspace holds now (the token's role is a hint)."""
        try:
            account_id, workspace_id = UUID(str(claims["sub"])), UUID(str(claims["ws"]))
            workspace = load(self.app, workspace_id, Workspace, "workspace", read_only=True)
        except (KeyError, ValueError, NotFound):
            raise Unauthorized("The token is not valid: sign in again.", code="invalid_token") from None
        role = workspace.role_of(account_id)
        if role is None:
            raise Unauthorized("You are no longer a member of this workspace.", code="not_a_member")
        return Member(account_id, workspace_id, role, str(claims["jti"]), int(claims["exp"]))

    def member_from_token(self, token: str) -> Member:
        """Check an access token and return its member; records the member as active now."""
        member = self.member(self.claims(token, ACCESS))
        self.redis.set(self._active_key(member.account_id), int(time.time()), ex=ACTIVE_TTL_S)
        return member

    def last_active(self, account_ids: list[UUID]) -> dict[UUID, datetime]:
        """When each account last made an authenticated request (kept in Redis for 90 days, not as events)."""
        if not account_ids:
            return {}
        values = self.redis.mget([self._active_key(a) for a in account_ids])
        return {a: datetime.fromtimestamp(int(v), UTC) for a, v in zip(account_ids, values, strict=True) if v}

    def _active_key(self, account_id: UUID) -> str:
        return f"{self.prefix}:active:{account_id}"

    def refresh(self, refresh_token: str) -> tuple[Member, Session]:
        """A new pair of tokens for a valid refresh token of a current member."""
        member = self.member(self.claims(refresh_token, REFRESH))
        return member, self.issue(member.account_id, member.workspace_id, member.role)

    def revoke(self, jti: str, exp: int) -> None:
        """Deny a token until it would have expired anyway."""
        ttl = int(exp - time.time())
        if ttl > 0:
            self.redis.set(self._revoked_key(jti), b"1", ex=ttl)

    def revoke_all(self, account_id: UUID) -> None:
        """Sign out every session of the account issued until now (e.g. after a password reset)."""
        now_ms = int(time.time() * 1000)
        self.redis.set(self._not_before_key(str(account_id)), str(now_ms).encode(), ex=self.refresh_ttl_s)

    def revoke_token(self, token: str, typ: str) -> None:
        """Revoke a token if it is genuine; anything else is ignored (signing out never fails on it)."""
        try:
            claims = self.signer.check(token, typ)
        except Unauthorized:
            return
        self.revoke(str(claims["jti"]), int(claims["exp"]))

    def check_throttle(self, email: str) -> None:
        """429 ``too_many_attempts`` with Retry-After once an email has had too many failed sign-ins."""
        key = self._failures_key(email)
        count = int(self.redis.get(key) or 0)
        if count >= self.max_failures:
            retry_after = max(int(self.redis.ttl(key)), 1)
            raise TooManyRequestsException(
                detail=f"Too many failed sign-ins for this email: try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
                extra={"code": "too_many_attempts"},
            )

    def record_failure(self, email: str) -> None:
        """Count one failed sign-in; the window starts at the first failure."""
        count_hit(self.redis, self._failures_key(email), self.failure_window_s)

    def clear_failures(self, email: str) -> None:
        """A successful sign-in starts the count again."""
        self.redis.delete(self._failures_key(email))

    def _revoked_key(self, jti: str) -> str:
        return f"{self.prefix}:revoked:{jti}"

    def _not_before_key(self, account_id: str) -> str:
        return f"{self.prefix}:not-before:{account_id}"

    def _failures_key(self, email: str) -> str:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return f"{self.prefix}:failures:{digest}"


def credential(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer token of ``Authorization``, else the session cookie."""
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return connection.cookies.get(SESSION_COOKIE) or None


def auth_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Auth:
    """The Auth service of the app."""
    service: Auth = connection.app.state.auth
    return service


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Member:
    """The signed-in member of this request (checked once per request, then cached on the connection)."""
    cached: Member | None = connection.state.get("member")
    if cached is not None:
        return cached
    token = credential(connection)
    if token is None:
        raise Unauthorized(
            "Sign in first: send `Authorization: Bearer <access token>` or the session cookie.",
            code="missing_credentials",
        )
    member = await anyio.to_thread.run_sync(auth_of(connection).member_from_token, token)
    connection.state["member"] = member
    return member


async def current_member(request: Request[Any, Any, Any], rate_limits: RateLimits) -> Member:
    """Dependency: the signed-in member (401 if there is none), counted against the per-user API limit."""
    member = await authenticate(request)
    await rate_limits.api(member.account_id)
    return member


def session_cookies(auth: Auth, session: Session) -> list[Cookie]:
    """The dashboard's cookies: HttpOnly, Secure, SameSite; the refresh cookie only goes to /api/auth."""
    return [
        Cookie(
            key=SESSION_COOKIE,
            value=session.access_token,
            max_age=auth.access_ttl_s,
            path="/",
            httponly=True,
            secure=True,
            samesite="lax",
        ),
        Cookie(
            key=REFRESH_COOKIE,
            value=session.refresh_token,
            max_age=auth.refresh_ttl_s,
            path=REFRESH_COOKIE_PATH,
            httponly=True,
            secure=True,
            samesite="strict",
        ),
    ]


def cleared_cookies() -> list[Cookie]:
    """Cookies that delete the session cookies."""
    return [
        Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, secure=True, samesite="lax"),
        Cookie(
            key=REFRESH_COOKIE,
            value="",
            max_age=0,
            path=REFRESH_COOKIE_PATH,
            httponly=True,
            secure=True,
            samesite="strict",
        ),
    ]
