"""Rate limits in Redis: fixed windows per key, checked in one round trip, shared by every web process.

A limit ``Limit(count, seconds)`` allows ``count`` hits per window of ``seconds``; the answer past it is
429 ``rate_limited`` with ``Retry-After`` set to the seconds left in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.exceptions import TooManyRequestsException
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


class RateLimiter:
    """Counts hits per key and window in Redis (INCR + EXPIRE in one pipeline)."""

    def __init__(self, redis: Redis, prefix: str = "chatassist:rl") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, checks: list[tuple[str, str, Limit]]) -> None:
        """Count one hit on every ``(scope, key, limit)``; raise RateLimited for the first one over its limit."""
        active = [(scope, f"{self.prefix}:{key}:{limit.seconds}", limit) for scope, key, limit in checks if limit.count]
        if not active:
            return
        pipe: Any = self.redis.pipeline(transaction=False)
        for _, key, limit in active:
            pipe.incr(key)
            pipe.expire(key, limit.seconds, nx=True)
            pipe.ttl(key)
        results = await pipe.execute()
        for i, (scope, _, limit) in enumerate(active):
            count, ttl = int(results[3 * i]), int(results[3 * i + 2])
            if count > limit.count:
                raise RateLimited(scope, max(ttl, 1))
