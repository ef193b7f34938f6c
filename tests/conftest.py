"""Shared fixtures: real PostgreSQL and Redis, a fake LLM HTTP server, the real app on a real port."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis as AsyncRedis

from chatassist.bootstrap import Container, bootstrap
from chatassist.cli import ready_checks
from chatassist.settings import Settings
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, Providers
from commands.create_workspace import cmd as create_ws
from tests.fakes.llm_server import FakeLLMServer
from tests.support.server import ThreadedServer
from tests.support.services import servers, throwaway_database
from tests.support.sse import parse_sse
from tests.support.visitors import TOKENS, remember_events
from web.app import create_app
from web.ratelimit import Limit, RateLimiter, RateLimits

TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="session")
def service_urls() -> Iterator[tuple[str, str]]:
    """Server-level PostgreSQL URL and Redis URL."""
    with servers() as urls:
        yield urls


@pytest.fixture(scope="session")
def database_url(service_urls: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this test session."""
    with throwaway_database(service_urls[0]) as url:
        yield url


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLMServer]:
    """Anthropic and OpenAI, faked at the HTTP level."""
    with FakeLLMServer() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_fake(fake_llm: FakeLLMServer) -> None:
    fake_llm.reset()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    service_urls: tuple[str, str],
    fake_llm: FakeLLMServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """Settings pointing the real SDKs at the fake, with short timeouts and backoff."""
    return Settings(
        database_url=database_url,
        redis_url=service_urls[1],
        data_dir=str(tmp_path_factory.mktemp("data")),
        anthropic_api_key="test-anthropic-key",
        openai_api_key="test-openai-key",
        anthropic_base_url=fake_llm.anthropic_base_url,
        openai_base_url=fake_llm.openai_base_url,
        provider_timeout_s=1.0,
        retry_base_delay_s=0.01,
        workspace_cache_s=0.0,  # settings changes apply on the very next turn in tests
        # the suite's fakes script the chat's answers; tests/e2e/test_decision_judge.py turns the judge on
        decision_judge=False,
        secret_key=TEST_SECRET_KEY,
        # every test signs up from 127.0.0.1: the per-address throttles are tested on an Auth of their own
        rate_signups_per_ip="0",
        signin_failures_per_ip=0,
    )


@pytest.fixture(scope="session")
def container(settings: Settings) -> Iterator[Container]:
    """The wired application with its projections running."""
    c = bootstrap(settings)
    c.start_projections()
    yield c
    c.close()


def generous_limits(container: Container) -> RateLimits:
    """Real limits counted in Redis, high enough for the whole session (test_rate_limits.py tests low ones)."""
    limiter = RateLimiter(AsyncRedis.from_url(container.redis_url), prefix=f"test-rl:{uuid.uuid4().hex}")
    return RateLimits(limiter, Limit(10_000, 60), Limit(100_000, 60), Limit(100_000, 60))


@pytest.fixture(scope="session")
def ai_server(container: Container) -> Iterator[ThreadedServer]:
    """The real app (Anthropic primary, OpenAI fallback, both faked) on a real port."""
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=generous_limits(container),
        analytics=container.analytics,
    )
    server = ThreadedServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def offline_server(container: Container) -> Iterator[ThreadedServer]:
    """The real app with no provider keys: the offline answerer."""
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy())
    app = create_app(chat, container.transcripts, ready_checks(container), auth=container.auth)
    server = ThreadedServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def workspace(container: Container) -> create_ws.WorkspaceCreated:
    """A new workspace with default settings and knowledge."""
    return create_ws.execute(container.app, create_ws.CreateWorkspace(f"Acme {uuid.uuid4().hex[:6]}"))


@pytest.fixture
def client(ai_server: ThreadedServer) -> Iterator[httpx.Client]:
    """HTTP client of the AI-mode server."""
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as c:
        yield c


@pytest.fixture
def offline_client(offline_server: ThreadedServer) -> Iterator[httpx.Client]:
    """HTTP client of the offline-mode server."""
    with httpx.Client(base_url=offline_server.base_url, timeout=20) as c:
        yield c


def chat(
    client: httpx.Client,
    widget_key: str,
    message: str,
    *,
    conversation_id: str | None = None,
    user_id: str = "visitor-1",
) -> list[tuple[str, Any]]:
    """POST /api/chat and return the parsed SSE events (asserts a 200 stream). Like the widget, it keeps each
    conversation's visitor token (tests/support/visitors.py) and sends it with the conversation's next messages."""
    body = {"message": message, "conversation_id": conversation_id, "user": {"id": user_id}}
    headers = {"X-Widget-Key": widget_key, "Accept": "text/event-stream"}
    if conversation_id is not None and conversation_id in TOKENS:
        headers["X-Visitor-Token"] = TOKENS[conversation_id]
    with client.stream("POST", "/api/chat", json=body, headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.iter_lines())
    remember_events(events)
    return events


def stored_events(container: Container, aggregate_id: uuid.UUID | str) -> list[Any]:
    """Every stored domain event of one aggregate, in order."""
    return list(container.app.events.get(uuid.UUID(str(aggregate_id))))


def event_names(container: Container, aggregate_id: uuid.UUID | str) -> list[str]:
    """Class names of the stored events of one aggregate."""
    return [type(e).__name__ for e in stored_events(container, aggregate_id)]


def data_root() -> Path:
    """The repository root (for CLI tests)."""
    return Path(__file__).resolve().parent.parent
