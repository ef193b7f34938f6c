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
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import sign_up
from tests.support.server import ThreadedServer
from tests.support.visitors import remember_reply, token_of
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


# Abuse limits that inventing visitor ids does not reset (issue 23, part 4)


def abuse_server(container: Container, service_urls: tuple[str, str], **limits: object) -> ThreadedServer:
    """The real app answering through the (fake) Anthropic API, generous per-visitor limits and ``limits``."""
    rate_limits = RateLimits(
        RateLimiter(Redis.from_url(service_urls[1]), prefix=f"test-rl:{uuid.uuid4().hex}"),
        chat_per_user=Limit(100, 60),
        chat_per_ip=Limit(100, 60),
        **limits,  # type: ignore[arg-type]
    )
    app = create_app(
        container.chat, container.transcripts, ready_checks(container), auth=container.auth, rate_limits=rate_limits
    )
    return ThreadedServer(app).start()


def turn(client: httpx.Client, key: str, user: str, conversation_id: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"message": "How do I reset my password?", "user": {"id": user}}
    headers = {"X-Widget-Key": key, "Accept": "application/json"}
    if conversation_id:  # a follow-up carries the conversation's visitor token, as the widget sends it
        body["conversation_id"] = conversation_id
        headers["X-Visitor-Token"] = token_of(conversation_id)
    response = client.post("/api/chat", json=body, headers=headers)
    if response.status_code == 200:
        remember_reply(response.json())
    return response


@pytest.fixture
def thousand_tokens_a_turn(fake_llm: FakeLLMServer) -> None:
    fake_llm.set_default("anthropic", Script(text="Open Settings, then Security.", input_tokens=900, output_tokens=100))


def test_new_conversations_per_ip_are_limited_whatever_the_visitor_id(
    container: Container, service_urls: tuple[str, str], workspace: WorkspaceCreated
) -> None:
    server = abuse_server(container, service_urls, new_conversations_per_ip=Limit(2, 60))
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            # Given two conversations started from one address under two invented visitor ids
            owner = f"v-{uuid.uuid4().hex}"
            first = turn(client, workspace.widget_key, owner)
            second = turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}")
            assert (first.status_code, second.status_code) == (200, 200)
            # When a third new visitor id starts one more
            refused = turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}")
            # I expect 429 with Retry-After, while a message in a conversation already open is still answered
            assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
            assert "new conversations per IP address" in refused.json()["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            again = turn(client, workspace.widget_key, owner, first.json()["conversation_id"])
            assert again.status_code == 200, again.text
    finally:
        server.stop()


def test_new_conversations_per_workspace_are_limited(
    container: Container, service_urls: tuple[str, str], workspace: WorkspaceCreated
) -> None:
    server = abuse_server(container, service_urls, new_conversations_per_workspace=Limit(3, 60))
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            codes = [turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}").status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
    finally:
        server.stop()


def test_tokens_per_ip_are_limited_whatever_the_visitor_id(
    container: Container, service_urls: tuple[str, str], workspace: WorkspaceCreated, thousand_tokens_a_turn: None
) -> None:
    server = abuse_server(container, service_urls, tokens_per_ip=Limit(2_500, 3600))
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            # Given three turns of 1,000 tokens each from one address, each under a new visitor id
            codes = [turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}").status_code for _ in range(3)]
            assert codes == [200, 200, 200]  # counted after each turn: the third starts at 2,000 of 2,500
            before = container.app.recorder.max_notification_id()
            # When a fourth asks
            refused = turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}")
            # I expect 429 naming the IP's tokens, nothing written and no model call made
            assert refused.status_code == 429 and "tokens per IP address" in refused.json()["message"]
            assert container.app.recorder.max_notification_id() == before
    finally:
        server.stop()


def test_anonymous_visitors_spend_at_most_their_daily_share_of_the_budget(
    container: Container, service_urls: tuple[str, str], workspace: WorkspaceCreated, thousand_tokens_a_turn: None
) -> None:
    # Given the default monthly budget of 100,000 tokens and a daily share of 2 % (2,000 tokens) for unverified visitors
    server = abuse_server(container, service_urls, anonymous_daily_share=0.02)
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            codes = [turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}").status_code for _ in range(2)]
            assert codes == [200, 200]
            # When anonymous visitors go on past it
            refused = turn(client, workspace.widget_key, f"v-{uuid.uuid4().hex}")
            # I expect a clear refusal of its own, with the time until the day's window ends
            assert refused.status_code == 429
            assert refused.json()["code"] == "anonymous_budget_exhausted", refused.json()
            assert "2,000 tokens" in refused.json()["message"]
            assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
    finally:
        server.stop()
