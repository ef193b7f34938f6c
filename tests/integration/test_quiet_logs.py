"""CHATASSIST_LOG_LEVEL governs every logger, the libraries' too; at WARNING a chat turn writes no line (issue 20)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatassist.observability import THIRD_PARTY_LOGGERS, configure_logging
from chatassist.settings import Settings
from tests.conftest import TEST_SECRET_KEY, data_root
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_embedded_shared import free_port
from tests.integration.test_outages import CHAT, JSON, wait_until
from tests.integration.test_restart_and_cli import cli_env
from tests.support.accounts import sign_up
from tests.support.services import throwaway_database


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The root's handlers and every logger's level as they were (pytest's capture handler among them)."""
    root = logging.getLogger()
    handlers, levels = list(root.handlers), {n: logging.getLogger(n).level for n in ("", *THIRD_PARTY_LOGGERS)}
    yield
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("level", ["WARNING", "INFO", "DEBUG"])
def test_the_setting_governs_the_libraries_loggers(level: str, restore_logging: None) -> None:
    # Given libraries that set their loggers' levels at import (eventsourcing puts psycopg's at ERROR)
    import eventsourcing.postgres  # noqa: F401

    # When the process configures its logging at CHATASSIST_LOG_LEVEL
    configure_logging(Settings(log_level=level))
    # I expect every third-party logger to log from that level on, neither more nor less, except psycopg's pool,
    # which logs each connection checkout at INFO: it speaks from WARNING on at INFO
    wanted = logging.getLevelName(level)
    effective = {name: logging.getLogger(name).getEffectiveLevel() for name in THIRD_PARTY_LOGGERS}
    expected = {n: logging.WARNING if n.startswith("psycopg") and level == "INFO" else wanted for n in effective}
    assert effective == expected


def test_chat_turns_through_up_log_nothing_at_warning(
    service_urls: tuple[str, str], fake_llm: FakeLLMServer, tmp_path: Path
) -> None:
    # Given `chatassist up` (web, projections, worker, scheduler in one process) at CHATASSIST_LOG_LEVEL=WARNING,
    # answering through the (fake) Anthropic API, its stderr in a file read while it runs
    log_file = tmp_path / "stderr.log"
    with throwaway_database(service_urls[0]) as database_url, log_file.open("w") as sink:
        port = free_port()
        env = cli_env(
            DATABASE_URL=database_url,
            REDIS_URL=service_urls[1],
            CHATASSIST_SECRET_KEY=TEST_SECRET_KEY,
            CHATASSIST_DATA_DIR=str(tmp_path / "data"),
            CHATASSIST_LOG_LEVEL="WARNING",
            CHATASSIST_METRICS_PORT="0",
            ANTHROPIC_API_KEY="test-anthropic-key",
            ANTHROPIC_BASE_URL=fake_llm.anthropic_base_url,
            # this test is about logs: the per-address limits (counted in the shared Redis) are not in its way
            CHATASSIST_RATE_TOKENS_PER_IP="0",
            CHATASSIST_RATE_NEW_CONVERSATIONS_PER_IP="0",
            CHATASSIST_RATE_CHAT_PER_IP="0",
        )
        cmd = [sys.executable, "-m", "chatassist.cli", "up", "--port", str(port)]
        up = subprocess.Popen(cmd, cwd=data_root(), env=env, stdout=subprocess.DEVNULL, stderr=sink, text=True)
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            wait_until(lambda: up.poll() is None and client.get("/ready").status_code == 200, 90, "ready")
            _, body = sign_up(client)
            headers = {"X-Widget-Key": body["widget_key"], **JSON}
            assert client.post("/api/chat", json=CHAT, headers=headers).status_code == 200  # the first of its kind
            time.sleep(3)  # start-up and the first turn's one-off work (loading, training) done
            before = log_file.read_text()
            # When visitors' turns are answered by the model, and the projections, relay and worker follow them
            for n in range(5):
                turn = {**CHAT, "user": {"id": f"visitor-quiet-{n}"}}
                reply = client.post("/api/chat", json=turn, headers=headers)
                assert reply.status_code == 200, reply.text
                assert reply.json()["provider"] == "anthropic"
            time.sleep(3)  # what the turns set off in the background (views, outbox, deliveries) has run
            during = log_file.read_text()[len(before) :]
        finally:
            up.terminate()
            up.wait(timeout=30)
    # I expect not one line written for those turns, whatever logger it would have come from
    assert during == "", during
