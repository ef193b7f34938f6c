"""Rate limits in Redis: fixed windows per key, checked in one round trip, shared by every web process.

A limit ``Limit(count, seconds)`` allows ``count`` hits per window of ``seconds``; the answer past it is
429 ``rate_limited`` with ``Retry-After`` set to the seconds left in the window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import TooManyRequestsException
from redis import Redis as SyncRedis
from redis import RedisError
from redis.asyncio import Redis

log = logging.getLogger("chatassist.ratelimit")


@dataclass(frozen=True)
class Limit:
    """``count`` hits per ``seconds``; a count of 0 disables the limit."""

    count: int
    seconds: int


class RateLimited(TooManyRequestsException):
    """Too many requests for one key; carries Retry-After."""

    def __init__(self, scope: str, retry_after: int, code: str = "rate_limited", detail: str | None = None) -> None:
        super().__init__(
            detail=detail
            or f"Too many requests ({scope}); try again in {retry_after} second{'s' * (retry_after != 1)}.",
            headers={"Retry-After": str(retry_after)},
            extra={"code": code},
        )
        self.retry_after = retry_after


# INCR every key; give a key its window on first use (or if it somehow lost its TTL); report counts and TTLs.
# A script rather than EXPIRE ... NX, which needs Redis 7 (the embedded Redis is 6.2), and atomic per call.
_HIT = """
local out = {}
for i, key in ipairs(KEYS) do
    local n = redis.call('INCR', key)
    local ttl = redis.call('TTL', key)
    if n == 1 or ttl < 0 then
        redis.call('EXPIRE', key, ARGV[i])
        ttl = tonumber(ARGV[i])
    end
    out[#out + 1] = n
    out[#out + 1] = ttl
end
return out
"""


# Add an amount to a counter (tokens spent) with its window set on first use; return the new total and TTL.
_ADD = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
end
return {n, ttl}
"""


class RateLimiter:
    """Counts hits per key and window in Redis, every key of a request in one round trip (a Lua script).

    Redis down (or not answering within its client's timeout): the limits fail open, so the chat goes on without
    them; the first failure is logged, and again at most once a minute, and the return is logged once
    (docs/operations.md, "When Redis is down")."""

    def __init__(self, redis: Redis, prefix: str = "chatassist:rl") -> None:
        self.redis = redis
        self.prefix = prefix
        self.script: Any = redis.register_script(_HIT)
        self.add_script: Any = redis.register_script(_ADD)
        self.unavailable_since: float | None = None
        self._logged_at = 0.0

    def _failed(self, err: RedisError) -> None:
        now = time.monotonic()
        if self.unavailable_since is None or now - self._logged_at >= 60:
            log.warning(
                "rate limits are off while Redis does not answer (%s); requests are let through", type(err).__name__
            )
            self._logged_at = now
        if self.unavailable_since is None:
            self.unavailable_since = now

    def _answered(self) -> None:
        if self.unavailable_since is not None:
            log.warning("Redis answers again: rate limits are back on")
            self.unavailable_since = None

    def key(self, key: str, limit: Limit) -> str:
        """The Redis key counting ``key``'s hits in ``limit``'s window."""
        return f"{self.prefix}:{key}:{limit.seconds}"

    async def hit(self, checks: list[tuple[str, str, Limit]]) -> None:
        """Count one hit on every ``(scope, key, limit)``; raise RateLimited for the first one over its limit."""
        active = [(scope, self.key(key, limit), limit) for scope, key, limit in checks if limit.count]
        if not active:
            return
        try:
            results = await self.script(
                keys=[key for _, key, _ in active], args=[limit.seconds for *_, limit in active]
            )
        except RedisError as err:
            self._failed(err)
            return
        self._answered()
        for i, (scope, _, limit) in enumerate(active):
            count, ttl = int(results[2 * i]), int(results[2 * i + 1])
            if count > limit.count:
                raise RateLimited(scope, max(ttl, 1))

    async def used(self, keys: list[tuple[str, Limit]]) -> list[tuple[int, int]]:
        """(amount counted, seconds left in the window) of each ``(key, limit)``, in one round trip."""
        names = [self.key(key, limit) for key, limit in keys]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.get(name)
                    pipe.ttl(name)
                got = await pipe.execute()
        except RedisError as err:  # nothing counted: nothing refused
            self._failed(err)
            return [(0, 1) for _ in names]
        self._answered()
        return [(int(got[2 * i] or 0), max(int(got[2 * i + 1]), 1)) for i in range(len(names))]

    async def add(self, key: str, limit: Limit, amount: int) -> None:
        """Count ``amount`` (e.g. tokens) on ``key`` in ``limit``'s window."""
        try:
            await self.add_script(keys=[self.key(key, limit)], args=[amount, limit.seconds])
        except RedisError as err:
            self._failed(err)


def parse_limit(text: str) -> Limit:
    """``"30/60"`` is 30 hits per 60 seconds; ``"0"`` or ``"off"`` disables."""
    if text.strip().lower() in ("0", "off", ""):
        return Limit(0, 1)
    count, _, seconds = text.partition("/")
    try:
        limit = Limit(int(count), int(seconds or 60))
    except ValueError:
        raise ValueError(f"a rate limit is COUNT/SECONDS, e.g. 30/60; got {text!r}") from None
    if limit.count < 0 or limit.seconds <= 0:
        raise ValueError(f"a rate limit needs a count >= 0 and seconds > 0; got {text!r}")
    return limit


ANONYMOUS_DAY = Limit(1, 86_400)  # the window of the anonymous visitors' daily spend (its ceiling is a share)


@dataclass(frozen=True)
class RateLimits:
    """The limits the web layer applies; ``limiter`` None turns them all off."""

    limiter: RateLimiter | None = None
    chat_per_user: Limit = Limit(0, 1)
    chat_per_ip: Limit = Limit(0, 1)
    api_per_user: Limit = Limit(0, 1)
    # Limits that inventing visitor ids does not reset (docs/widget-security.md, "Abuse limits"):
    new_conversations_per_ip: Limit = Limit(0, 1)
    new_conversations_per_workspace: Limit = Limit(0, 1)
    tokens_per_ip: Limit = Limit(0, 1)
    # Share of the workspace's monthly token budget that anonymous visitors may spend per day (0: no ceiling).
    anonymous_daily_share: float = 0.0

    async def chat(self, workspace_id: object, user_id: str, ip: str, *, new_conversation: bool = False) -> None:
        """One chat message from a visitor of a workspace, from an IP address; ``new_conversation``: it starts one."""
        if self.limiter is not None:
            checks = [
                ("per visitor", f"chat:user:{workspace_id}:{user_id}", self.chat_per_user),
                ("per IP address", f"chat:ip:{ip}", self.chat_per_ip),
            ]
            if new_conversation:
                checks += [
                    ("new conversations per IP address", f"chat:new:ip:{ip}", self.new_conversations_per_ip),
                    (
                        "new conversations in this workspace",
                        f"chat:new:ws:{workspace_id}",
                        self.new_conversations_per_workspace,
                    ),
                ]
            await self.limiter.hit(checks)

    def _spend_keys(self, workspace_id: object, ip: str, anonymous: bool) -> list[tuple[str, str, Limit]]:
        keys = [("tokens per IP address", f"tokens:ip:{ip}", self.tokens_per_ip)]
        if anonymous and self.anonymous_daily_share > 0:
            keys.append(("anonymous", f"tokens:anonymous:{workspace_id}", ANONYMOUS_DAY))
        return [k for k in keys if k[2].count]

    async def check_spend(self, workspace_id: object, ip: str, *, anonymous: bool, monthly_budget: int) -> None:
        """Before a turn: refuse when this IP's tokens this hour, or the anonymous visitors' tokens today, are spent."""
        if self.limiter is None:
            return
        keys = self._spend_keys(workspace_id, ip, anonymous)
        if not keys:  # no spend limit set: no Redis round trip (an empty pipeline still made one per turn)
            return
        for (scope, _, limit), (used, ttl) in zip(
            keys, await self.limiter.used([(key, limit) for _, key, limit in keys]), strict=True
        ):
            if scope == "anonymous":
                ceiling = int(monthly_budget * self.anonymous_daily_share)
                if self.anonymous_daily_share and monthly_budget and used >= ceiling:
                    raise RateLimited(
                        scope,
                        ttl,
                        code="anonymous_budget_exhausted",
                        detail=(
                            "Unverified visitors have used today's share of this workspace's AI budget "
                            f"({ceiling:,} tokens); try again in {ttl} seconds, or sign the visitor's identity."
                        ),
                    )
            elif used >= limit.count:
                raise RateLimited(scope, ttl)

    async def spent(self, workspace_id: object, ip: str, tokens: int, *, anonymous: bool) -> None:
        """After a turn: count its tokens for this IP and, for an anonymous visitor, the workspace's day."""
        if self.limiter is None or tokens <= 0:
            return
        for _, key, limit in self._spend_keys(workspace_id, ip, anonymous):
            await self.limiter.add(key, limit, tokens)

    async def api(self, account_id: object) -> None:
        """One dashboard API call by a signed-in member."""
        if self.limiter is not None:
            await self.limiter.hit([("per user", f"api:user:{account_id}", self.api_per_user)])


def count_hit(client: SyncRedis, key: str, seconds: int) -> tuple[int, int]:
    """Blocking form for the sign-in and password-reset throttles: count one hit, return (count, ttl seconds)."""
    count, ttl = client.register_script(_HIT)(keys=[key], args=[seconds])
    return int(count), int(ttl)
