"""Sessions: signed JWTs (access 15 minutes, refresh 7 days), a Redis denylist for logout, sign-in throttling,
and ``authenticate`` / ``current_member``, which check the member's current role on every request.

The per-request check (``SessionChecks``) costs one Redis round trip from the event loop: the denylist, the
account's "not before" time and the workspace's membership epoch are read, and the account marked active, by one
script. The workspace's roles come from an in-process copy that is used only while the epoch it was read under is
still the workspace's current one (every role change or removal sets a new epoch) and for at most
``members_cache_s`` seconds; otherwise they are read from the event store (docs/auth.md, "How a request is checked").
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
import redis
import redis.asyncio
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import TooManyRequestsException

from commands._common import load
from commands._mail import MailOutbox
from commands._password_reset import LogSender, Sender
from commands._security import TokenSigner
from commands.application import ChatAssistApp
from domain.errors import NotFound, Unauthorized
from domain.permissions import PERMISSIONS, allows
from domain.workspace import Workspace
from web.ratelimit import Limit, RateLimited, RateLimiter, RateLimits, count_hit

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
    session_id: str = ""  # the sign-in this token descends from (its refresh family)

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
MEMBERS_CACHE_S = 5.0  # the longest a copy of a workspace's roles is used (bounds a lost epoch change)
MEMBERS_CACHE_MAX = 10_000  # workspaces; the copies are dropped all at once past it
EPOCH_TTL_S = 7 * 24 * 3600  # an epoch that expired reads as "", which no copy older than the expiry holds


@dataclass(frozen=True)
class Roles:
    """A copy of a workspace's roles, read under membership epoch ``epoch``, usable until ``until`` (monotonic)."""

    epoch: bytes
    roles: dict[UUID, str]
    until: float


# Per request, in one round trip: refuse a denylisted token or one issued before the account's "not before" time
# ({0}); else count the request against the account's API rate limit (when KEYS[5] is given: the same counter as
# web/ratelimit.py's) and, when the caller holds a copy of the workspace's roles naming this account and that
# copy's epoch is still the workspace's current one, mark the account active ({1, epoch, hits, ttl}); else answer
# the current epoch ({2, epoch, hits, ttl}): the caller reads the roles from the event store, then marks the
# account active itself.
# KEYS: revoked:<jti>, not-before:<account>, members:<workspace>, active:<account>, revoked family:<session>
#       [, the API rate-limit counter]
# ARGV: issued (ms), "1" when the caller has a copy naming the account, that copy's epoch, now (s), active TTL (s)
#       [, the rate limit's window (s)]
_CHECK = """
if redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[5]) then return {0} end
local not_before = redis.call('GET', KEYS[2])
if not_before and tonumber(ARGV[1]) < tonumber(not_before) then return {0} end
local hits, ttl = 0, 0
if KEYS[6] then
    hits = redis.call('INCR', KEYS[6])
    ttl = redis.call('TTL', KEYS[6])
    if hits == 1 or ttl < 0 then
        redis.call('EXPIRE', KEYS[6], ARGV[6])
        ttl = tonumber(ARGV[6])
    end
end
local epoch = redis.call('GET', KEYS[3]) or ''
if ARGV[2] == '1' and epoch == ARGV[3] then
    redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
    return {1, epoch, hits, ttl}
end
return {2, epoch, hits, ttl}
"""


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
        max_address_failures: int = 50,
        signups_per_address: tuple[int, int] = (20, 3600),
        prefix: str = "chatassist:auth",
        reset_sender: Sender | None = None,
        public_url: str = "http://127.0.0.1:8000",
        redis_url: str | None = None,
        members_cache_s: float = MEMBERS_CACHE_S,
    ) -> None:
        self.app, self.signer, self.redis = app, signer, client
        self.redis_url = redis_url  # for the web app's own asyncio client (SessionChecks); None: checks in a thread
        self.members_cache_s = members_cache_s
        self._roles: dict[UUID, Roles] = {}
        self._roles_lock = threading.Lock()
        self.reset_sender: Sender = reset_sender or LogSender(production=True)
        self.mail: MailOutbox | None = None  # set when an SMTP server is configured: invitations are emailed
        self.public_url = public_url
        self.access_ttl_s, self.refresh_ttl_s = access_ttl_s, refresh_ttl_s
        self.max_failures, self.failure_window_s = max_failures, failure_window_s
        self.max_address_failures, self.signups_per_address = max_address_failures, signups_per_address
        self.prefix = prefix

    def issue(self, account_id: UUID, workspace_id: UUID, role: str, session_id: str | None = None) -> Session:
        """An access token (sub, ws, role as a hint, jti, exp) and a refresh token, both of the session (``sid``)
        ``session_id``: a new one at sign-in, the same one when a refresh rotates the pair."""
        now_ms = int(time.time() * 1000)  # finer than ``iat``, for revoke_all
        sid = session_id or uuid.uuid4().hex
        access, _ = self.signer.sign(
            ACCESS, self.access_ttl_s, sub=str(account_id), ws=str(workspace_id), role=role, iat_ms=now_ms, sid=sid
        )
        refresh, _ = self.signer.sign(
            REFRESH, self.refresh_ttl_s, sub=str(account_id), ws=str(workspace_id), iat_ms=now_ms, sid=sid
        )
        return Session(access, refresh, self.access_ttl_s, self.refresh_ttl_s)

    def claims(self, token: str, typ: str) -> dict[str, Any]:
        """Claims of a genuine, unexpired, unrevoked token of kind ``typ``."""
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token()
        claims = self.signer.check(token, typ)
        revoked, not_before, family = self.redis.mget(
            self._revoked_key(str(claims["jti"])),
            self._not_before_key(str(claims.get("sub"))),
            self._family_key(session_of(claims)),
        )
        if revoked or family or (not_before is not None and issued_ms(claims) < int(not_before)):
            raise signed_out()
        return claims

    def member(self, claims: dict[str, Any], epoch: bytes | None = None) -> Member:
        """The member named by the claims, with the role the workspace holds now in the event store (the token's
        role is a hint). With ``epoch`` (the workspace's membership epoch, read before this call), the roles read
        are kept as the copy ``cached_role`` answers from."""
        account_id, workspace_id = member_ids(claims)
        try:
            workspace = load(self.app, workspace_id, Workspace, "workspace", read_only=True)
        except NotFound:
            raise invalid_token() from None
        if epoch is not None:
            until = time.monotonic() + self.members_cache_s
            self._keep_roles(workspace_id, Roles(epoch, dict(workspace.members), until))
        role = workspace.role_of(account_id)
        if role is None:
            raise Unauthorized("You are no longer a member of this workspace.", code="not_a_member")
        return Member(account_id, workspace_id, role, str(claims["jti"]), int(claims["exp"]), session_of(claims))

    def cached_role(self, workspace_id: UUID, account_id: UUID) -> tuple[bytes, str] | None:
        """(epoch, role) from this process's copy of the workspace's roles, if it is fresh and names the account.
        The caller must still check that the epoch is the workspace's current one (the ``_CHECK`` script)."""
        copy = self._roles.get(workspace_id)
        if copy is None or copy.until <= time.monotonic():
            return None
        role = copy.roles.get(account_id)
        return None if role is None else (copy.epoch, role)

    def members_changed(self, workspace_id: UUID) -> None:
        """After a role change or removal is saved: a new membership epoch, so that no process uses a copy of the
        workspace's roles read before it (this one drops its copy too)."""
        self.redis.set(self._members_key(workspace_id), uuid.uuid4().hex, ex=EPOCH_TTL_S)
        with self._roles_lock:
            self._roles.pop(workspace_id, None)

    def _keep_roles(self, workspace_id: UUID, roles: Roles) -> None:
        with self._roles_lock:
            if len(self._roles) >= MEMBERS_CACHE_MAX:
                self._roles.clear()
            self._roles[workspace_id] = roles

    def _members_key(self, workspace_id: object) -> str:
        return f"{self.prefix}:members:{workspace_id}"

    def check_keys(self, jti: str, account_id: str, workspace_id: str, session_id: str = "") -> list[str]:
        """The keys of the ``_CHECK`` script: denylist entry, not-before time, membership epoch, last active, and
        the session's revoked-family mark."""
        key = self._revoked_key(jti), self._not_before_key(account_id), self._members_key(workspace_id)
        return [*key, self._active_key(account_id), self._family_key(session_id)]

    def last_active(self, account_ids: list[UUID]) -> dict[UUID, datetime]:
        """When each account last made an authenticated request (kept in Redis for 90 days, not as events)."""
        if not account_ids:
            return {}
        values = self.redis.mget([self._active_key(a) for a in account_ids])
        return {a: datetime.fromtimestamp(int(v), UTC) for a, v in zip(account_ids, values, strict=True) if v}

    def _active_key(self, account_id: object) -> str:
        return f"{self.prefix}:active:{account_id}"

    def refresh(self, refresh_token: str) -> tuple[Member, Session]:
        """A new pair of tokens for a valid refresh token of a current member. Each refresh token works once: the
        first use rotates the pair; a second use (a stolen copy, or the thief's after the owner's) signs out the
        whole session, every token descended from its sign-in (401 ``refresh_token_reused``)."""
        claims = self.claims(refresh_token, REFRESH)
        ttl = max(int(claims["exp"]) - int(time.time()), 1)
        if not self.redis.set(self._used_key(str(claims["jti"])), b"1", nx=True, ex=ttl):
            self.revoke_session(session_of(claims))
            raise Unauthorized(
                "This refresh token was already used, so the session it belongs to has been signed out "
                "everywhere for safety: sign in again.",
                code="refresh_token_reused",
            )
        member = self.member(claims)
        return member, self.issue(member.account_id, member.workspace_id, member.role, member.session_id or None)

    def revoke_session(self, session_id: str) -> None:
        """Sign out every token descended from one sign-in (its refresh family), access and refresh alike."""
        if session_id:
            self.redis.set(self._family_key(session_id), b"1", ex=self.refresh_ttl_s)

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

    def check_throttle(self, email: str, address: str) -> float:
        """Before a sign-in: 429 ``too_many_attempts`` (Retry-After) once this email has failed too often from this
        address, or this address has failed too often over any emails (spraying); else the seconds to hold a
        failed answer (slowing guesses down before the lock). Failures of the email from other addresses only slow
        it down: an attacker elsewhere cannot lock the owner out, whose right password still gets in."""
        pair, by_address, by_email = (
            self._failures_key(email, address),
            self._address_key(address),
            self._failures_key(email),
        )
        n_pair, n_address, n_email = (int(v or 0) for v in self.redis.mget(pair, by_address, by_email))
        if n_pair >= self.max_failures:
            raise too_many_attempts("for this email from your network address", self._ttl(pair))
        if self.max_address_failures and n_address >= self.max_address_failures:
            raise too_many_attempts("from your network address", self._ttl(by_address))
        delay = min(4.0, 0.25 * 2 ** (n_pair - 1)) if n_pair >= 2 else 0.0
        return delay + (1.0 if n_email >= self.max_failures else 0.0)

    def record_failure(self, email: str, address: str) -> None:
        """Count one failed sign-in for the (email, address) pair, the address and the email; each window starts at
        its first failure."""
        for key in (self._failures_key(email, address), self._address_key(address), self._failures_key(email)):
            count_hit(self.redis, key, self.failure_window_s)

    def clear_failures(self, email: str, address: str) -> None:
        """A successful sign-in starts this pair's count again."""
        self.redis.delete(self._failures_key(email, address))

    def check_signup(self, address: str) -> None:
        """Count a sign-up attempt from ``address``; 429 ``too_many_signups`` past the limit."""
        count, seconds = self.signups_per_address
        if not count:
            return
        hits, ttl = count_hit(self.redis, f"{self.prefix}:signups:{address}", seconds)
        if hits > count:
            raise TooManyRequestsException(
                detail=f"Too many sign-ups from your network address: try again in {max(ttl, 1)} seconds.",
                headers={"Retry-After": str(max(ttl, 1))},
                extra={"code": "too_many_signups"},
            )

    def _ttl(self, key: str) -> int:
        return max(int(self.redis.ttl(key)), 1)

    def _address_key(self, address: str) -> str:
        return f"{self.prefix}:failures-from:{address}"

    def _family_key(self, session_id: str) -> str:
        return f"{self.prefix}:revoked-session:{session_id or '-'}"

    def _used_key(self, jti: str) -> str:
        return f"{self.prefix}:used-refresh:{jti}"

    def _revoked_key(self, jti: str) -> str:
        return f"{self.prefix}:revoked:{jti}"

    def _not_before_key(self, account_id: str) -> str:
        return f"{self.prefix}:not-before:{account_id}"

    def _failures_key(self, email: str, address: str | None = None) -> str:
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return f"{self.prefix}:failures:{digest}" + (f":{address}" if address else "")


def too_many_attempts(scope: str, retry_after: int) -> TooManyRequestsException:
    """429 ``too_many_attempts`` with Retry-After."""
    return TooManyRequestsException(
        detail=f"Too many failed sign-ins {scope}: try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
        extra={"code": "too_many_attempts"},
    )


def invalid_token() -> Unauthorized:
    """401 ``invalid_token``."""
    return Unauthorized("The token is not valid: sign in again.", code="invalid_token")


def signed_out() -> Unauthorized:
    """401 ``token_revoked``."""
    return Unauthorized("This session has been signed out: sign in again.", code="token_revoked")


def issued_ms(claims: dict[str, Any]) -> int:
    """When the token was issued, in milliseconds (``iat_ms``, else ``iat``), for the "not before" check."""
    return int(claims.get("iat_ms") or int(claims.get("iat") or 0) * 1000)


def session_of(claims: dict[str, Any]) -> str:
    """The sign-in a token descends from (``sid``); empty for tokens issued before sessions had one."""
    return str(claims.get("sid") or "")


def member_ids(claims: dict[str, Any]) -> tuple[UUID, UUID]:
    """(account id, workspace id) of genuine claims; 401 ``invalid_token`` when they do not name both."""
    try:
        return UUID(str(claims["sub"])), UUID(str(claims["ws"]))
    except (KeyError, ValueError):
        raise invalid_token() from None


class SessionChecks:
    """The per-request session check of one web app (its event loop): the token's signature and expiry here, then
    one Redis round trip (``_CHECK``) on the app's own asyncio client, which also counts the request against the
    API rate limit when ``rate_limits`` counts on the same Redis; the event store is read only when this process
    has no current copy of the workspace's roles naming the account."""

    def __init__(self, auth: Auth, rate_limits: RateLimits | None = None) -> None:
        self.auth = auth
        self.redis = (
            redis.asyncio.Redis.from_url(auth.redis_url, socket_connect_timeout=2, socket_timeout=2)
            if auth.redis_url
            else None
        )
        self.script: Any = (self.redis or auth.redis).register_script(_CHECK)
        self.api: tuple[RateLimiter, Limit] | None = None  # the API limit, when counted by the check
        limiter = rate_limits.limiter if rate_limits and rate_limits.api_per_user.count else None
        if rate_limits and limiter and self.redis is not None and _server(limiter.redis) == _server(self.redis):
            self.api = (limiter, rate_limits.api_per_user)

    @property
    def counts_api_calls(self) -> bool:
        """True when ``member`` counts the request against the API rate limit (``current_member`` then does not)."""
        return self.api is not None

    async def member(self, token: str) -> Member:
        """The member of a genuine, unexpired, unrevoked access token, with the workspace's current role; 429
        ``rate_limited`` (once the member is known) past the API rate limit when ``counts_api_calls``."""
        auth = self.auth
        if len(token) > MAX_TOKEN_CHARS:
            raise invalid_token()
        claims = auth.signer.check(token, ACCESS)
        sub, ws = str(claims.get("sub")), str(claims.get("ws"))
        try:
            cached = auth.cached_role(UUID(ws), UUID(sub))
        except ValueError:
            cached = None
        keys = auth.check_keys(str(claims["jti"]), sub, ws, session_of(claims))
        now = int(time.time())
        args = [issued_ms(claims), "1" if cached else "0", cached[0] if cached else b"", now, ACTIVE_TTL_S]
        if self.api is not None:
            limiter, limit = self.api
            keys.append(limiter.key(f"api:user:{sub}", limit))
            args.append(limit.seconds)
        answer = await self._check(keys, args)
        if int(answer[0]) == 0:
            raise signed_out()
        if int(answer[0]) == 1 and cached is not None:
            account_id, workspace_id = member_ids(claims)
            member = Member(
                account_id, workspace_id, cached[1], str(claims["jti"]), int(claims["exp"]), session_of(claims)
            )
        else:
            member = await anyio.to_thread.run_sync(auth.member, claims, bytes(answer[1]))
            await self._mark_active(keys[3], now)
        if self.api is not None and int(answer[2]) > self.api[1].count:
            raise RateLimited("per user", max(int(answer[3]), 1))
        return member

    async def _check(self, keys: list[str], args: list[Any]) -> list[Any]:
        if self.redis is not None:
            answer: list[Any] = await self.script(keys=keys, args=args)
            return answer
        return list(await anyio.to_thread.run_sync(lambda: self.script(keys=keys, args=args)))

    async def _mark_active(self, key: str, now: int) -> None:
        if self.redis is not None:
            await self.redis.set(key, now, ex=ACTIVE_TTL_S)
        else:
            await anyio.to_thread.run_sync(lambda: self.auth.redis.set(key, now, ex=ACTIVE_TTL_S))

    async def close(self) -> None:
        """Close the asyncio client (app shutdown)."""
        if self.redis is not None:
            await self.redis.aclose()


def _server(client: redis.asyncio.Redis) -> tuple[Any, ...]:
    kwargs = client.connection_pool.connection_kwargs
    return tuple(kwargs.get(k) for k in ("host", "port", "path", "db"))


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
    checks: SessionChecks = connection.app.state.session_checks
    member = await checks.member(token)
    connection.state["member"] = member
    return member


async def current_member(request: Request[Any, Any, Any], rate_limits: RateLimits) -> Member:
    """Dependency: the signed-in member (401 if there is none), counted against the per-user API limit (by the
    session check itself when it can: then every signed-in request counts, once)."""
    member = await authenticate(request)
    checks: SessionChecks = request.app.state.session_checks
    if not checks.counts_api_calls:
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
