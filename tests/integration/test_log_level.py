"""CHATASSIST_LOG_LEVEL governs every logger of a web process, third-party ones included (issue 20)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from bench.chat_turns import free_port
from chatassist.settings import Settings
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import data_root
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_restart_and_cli import cli_env
from tests.support.sse import parse_sse


def test_a_chat_turn_logs_nothing_at_warning(
    settings: Settings, fake_llm: FakeLLMServer, workspace: WorkspaceCreated
) -> None:
    assert settings.database_url and settings.redis_url and settings.secret_key
    port = free_port()
    # Given `chatassist web` at CHATASSIST_LOG_LEVEL=WARNING, answering through the (fake) Anthropic API
    env = cli_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        CHATASSIST_SECRET_KEY=settings.secret_key,
        ANTHROPIC_API_KEY="test-anthropic-key",
        ANTHROPIC_BASE_URL=fake_llm.anthropic_base_url,
        CHATASSIST_LOG_LEVEL="WARNING",
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "chatassist.cli", "web", "--port", str(port)],
        cwd=data_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and web.poll() is None, "web did not start"
            time.sleep(0.1)
        # When a visitor's turn is answered by the model
        body = {"message": "How do I reset my password?", "user": {"id": "visitor-log"}}
        reply = httpx.post(f"{base}/api/chat", json=body, headers={"X-Widget-Key": workspace.widget_key}, timeout=20)
        done = [data for name, data in parse_sse(reply.text.splitlines()) if name == "done"]
        assert done and done[0]["provider"] == "anthropic"
    finally:
        web.terminate()
        _, stderr = web.communicate(timeout=20)
    # I expect not one line below WARNING on its output (no per-request INFO from the SDKs' HTTP client)
    chatty = [line for line in stderr.splitlines() if " INFO " in f" {line} " or line.startswith(("INFO", "DEBUG"))]
    assert chatty == [], chatty
