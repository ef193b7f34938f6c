"""Rate limits in Redis: fixed windows per key, checked in one round trip, shared by every web process.

A limit ``Limit(count, seconds)`` allows ``count`` hits per window of ``seconds``; the answer past it is
429 ``rate_limited`` with ``Retry-After`` set to the seconds left in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.exceptions import TooManyRequestsException
from redis import Redis as SyncRedis
from redis.asyncio import Redis


@dataclass(frozen=True)
class Limit:
    """``count`` hits per ``seconds``; a count of 0 disables the limit."""

    count: int
    seconds: int


class RateLimited(TooManyRequestsException):
    """Too many requests for one key; carries Retry-After."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(
            detail=f"Too many requests ({scope}); try again in {retry_after} second{'s' * (retry_after != 1)}.",
            headers={"Retry-After": str(retry_after)},
            extra={"code": "rate_limited"},
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


class RateLimiter:
    """Counts hits per key and window in Redis, every key of a request in one round trip (a Lua script)."""

    def __init__(self, redis: Redis, prefix: str = "chatassist:rl") -> None:
        self.redis = redis
        self.prefix = prefix
        self.script: Any = redis.register_script(_HIT)

    def key(self, key: str, limit: Limit) -> str:
        """The Redis key counting ``key``'s hits in ``limit``'s window."""
        return f"{self.prefix}:{key}:{limit.seconds}"

    async def hit(self, checks: list[tuple[str, str, Limit]]) -> None:
        """Count one hit on every ``(scope, key, limit)``; raise RateLimited for the first one over its limit."""
        active = [(scope, self.key(key, limit), limit) for scope, key, limit in checks if limit.count]
        if not active:
            return
        results = await self.script(keys=[key for _, key, _ in active], args=[limit.seconds for *_, limit in active])
        for i, (scope, _, limit) in enumerate(active):
            count, ttl = int(results[2 * i]), int(results[2 * i + 1])
            if count > limit.count:
                raise RateLimited(scope, max(ttl, 1))


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


@dataclass(frozen=True)
class RateLimits:
    """The limits the web layer applies; ``limiter`` None turns them all off."""

    limiter: RateLimiter | None = None
    chat_per_user: Limit = Limit(0, 1)
    chat_per_ip: Limit = Limit(0, 1)
    api_per_user: Limit = Limit(0, 1)

    async def chat(self, workspace_id: object, user_id: str, ip: str) -> None:
        """One chat message from a visitor of a workspace, from an IP address."""
        if self.limiter is not None:
            await self.limiter.hit(
                [
                    ("per visitor", f"chat:user:{workspace_id}:{user_id}", self.chat_per_user),
                    ("per IP address", f"chat:ip:{ip}", self.chat_per_ip),
                ]
            )

    async def api(self, account_id: object) -> None:
        """One dashboard API call by a signed-in member."""
        if self.limiter is not None:
            await self.limiter.hit([("per user", f"api:user:{account_id}", self.api_per_user)])


def count_hit(client: SyncRedis, key: str, seconds: int) -> tuple[int, int]:
    """Blocking form for the sign-in and password-reset throttles: count one hit, return (count, ttl seconds)."""
    count, ttl = client.register_script(_HIT)(keys=[key], args=[seconds])
    return int(count), int(ttl)
