"""`chatassist web` as its own process: what its settings govern (log level, trusted proxies)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import redis

from bench.chat_turns import free_port
from chatassist.settings import Settings
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import data_root
from tests.e2e.test_session_checks import on_database
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_restart_and_cli import cli_env
from tests.support.sse import parse_sse


@contextmanager
def web_process(
    settings: Settings, fake_llm: FakeLLMServer, redis_url: str | None = None, **extra: str
) -> Iterator[tuple[str, list[str]]]:
    """(base URL, its stderr lines once stopped) of `chatassist web` on the test database and the fake Anthropic."""
    assert settings.database_url and settings.redis_url and settings.secret_key
    port, stderr_lines = free_port(), []
    env = cli_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=redis_url or settings.redis_url,
        CHATASSIST_SECRET_KEY=settings.secret_key,
        ANTHROPIC_API_KEY="test-anthropic-key",
        CHATASSIST_DECISION_JUDGE="false",  # the fake scripts the chat, not the LLM judge
        ANTHROPIC_BASE_URL=fake_llm.anthropic_base_url,
        **extra,
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "chatassist.cli", "web", "--port", str(port)],
        cwd=data_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and web.poll() is None, "web did not start"
            time.sleep(0.1)
        yield base, stderr_lines
    finally:
        web.terminate()
        _, stderr = web.communicate(timeout=20)
        stderr_lines.extend(stderr.splitlines())


def ask(base: str, key: str, user: str, **headers: str) -> httpx.Response:
    body = {"message": "How do I reset my password?", "user": {"id": user}}
    return httpx.post(f"{base}/api/chat", json=body, headers={"X-Widget-Key": key, **headers}, timeout=20)


def test_a_chat_turn_logs_nothing_at_warning(
    settings: Settings, fake_llm: FakeLLMServer, workspace: WorkspaceCreated
) -> None:
    # Given `chatassist web` at CHATASSIST_LOG_LEVEL=WARNING, answering through the (fake) Anthropic API
    with web_process(settings, fake_llm, CHATASSIST_LOG_LEVEL="WARNING") as (base, stderr):
        # When a visitor's turn is answered by the model
        reply = ask(base, workspace.widget_key, "visitor-log")
        done = [data for name, data in parse_sse(reply.text.splitlines()) if name == "done"]
        assert done and done[0]["provider"] == "anthropic"
    # I expect not one line below WARNING on its output (no per-request INFO from the SDKs' HTTP client)
    chatty = [line for line in stderr if " INFO " in f" {line} " or line.startswith(("INFO", "DEBUG"))]
    assert chatty == [], chatty


def test_forwarded_addresses_count_only_from_listed_proxies(
    settings: Settings, fake_llm: FakeLLMServer, workspace: WorkspaceCreated
) -> None:
    # Given a limit of two messages a minute per IP address, counted on a Redis database of this test's own
    assert settings.redis_url
    redis_url = on_database(settings.redis_url, 3)
    counters = redis.Redis.from_url(redis_url)
    limits = {"CHATASSIST_RATE_CHAT_PER_IP": "2/60", "CHATASSIST_RATE_CHAT_PER_USER": "100/60"}
    forwarded = [{"X-Forwarded-For": f"203.0.113.{n}", "Accept": "application/json"} for n in range(3)]
    # When a local peer claims three client addresses to a web process that trusts no proxy (the default)
    counters.delete(*counters.keys("chatassist:rl:*") or ["none"])
    with web_process(settings, fake_llm, redis_url, **limits) as (base, _):
        codes = [ask(base, workspace.widget_key, f"v-{uuid.uuid4().hex}", **h).status_code for h in forwarded]
    # I expect the header ignored: the peer's own address is counted, and the third message refused
    assert codes == [200, 200, 429]
    # When the operator lists 127.0.0.1 as a trusted proxy
    counters.delete(*counters.keys("chatassist:rl:*") or ["none"])
    with web_process(settings, fake_llm, redis_url, CHATASSIST_TRUSTED_PROXIES="127.0.0.1", **limits) as (base, _):
        codes = [ask(base, workspace.widget_key, f"v-{uuid.uuid4().hex}", **h).status_code for h in forwarded]
    # I expect each forwarded address counted on its own
    assert codes == [200, 200, 200]
