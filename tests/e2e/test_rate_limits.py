"""Rate limits on the chat endpoint (per visitor, per IP) and on the dashboard API (per user), in Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, Providers
from commands.create_workspace.cmd import WorkspaceCreated
from tests.support.accounts import sign_up
from tests.support.server import ThreadedServer
from web.app import create_app
from web.ratelimit import Limit, RateLimiter, RateLimits


@pytest.fixture
def limited(container: Container, service_urls: tuple[str, str]) -> Iterator[httpx.Client]:
    """The real app (offline answerer) with small limits: 2 messages per visitor, 5 per IP, 3 API calls per user."""
    limits = RateLimits(
        RateLimiter(Redis.from_url(service_urls[1]), prefix=f"test-rl:{uuid.uuid4().hex}"),
        chat_per_user=Limit(2, 60),
        chat_per_ip=Limit(5, 60),
        api_per_user=Limit(3, 60),
    )
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy(), cache_ttl_s=0)
    app = create_app(chat, container.transcripts, ready_checks(container), auth=container.auth, rate_limits=limits)
    server = ThreadedServer(app).start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client
    server.stop()


def send(client: httpx.Client, key: str, user: str) -> httpx.Response:
    return client.post(
        "/api/chat",
        json={"message": "How do I reset my password?", "user": {"id": user}},
        headers={"X-Widget-Key": key, "Accept": "application/json"},
    )


def test_a_visitor_over_the_limit_gets_429_with_retry_after_and_nothing_is_written(
    limited: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given a visitor who has sent the two messages allowed per minute
    assert [send(limited, workspace.widget_key, "ann").status_code for _ in range(2)] == [200, 200]
    before = container.app.recorder.max_notification_id()
    # When the third arrives
    refused = send(limited, workspace.widget_key, "ann")
    # I expect 429 rate_limited, a Retry-After within the window, a sentence, and no event
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and "try again in" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert container.app.recorder.max_notification_id() == before
    # and other visitors are still served until the IP's limit of five is reached (refused attempts count too)
    assert [send(limited, workspace.widget_key, f"v{i}").status_code for i in range(2)] == [200, 200]
    assert send(limited, workspace.widget_key, "bob").status_code == 429


def test_a_dashboard_user_over_the_api_limit_gets_429(limited: httpx.Client) -> None:
    admin, _ = sign_up(limited)
    codes = [limited.get("/api/auth/me", headers=admin.headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
