"""Seeing it run (issue 12, part 6): the metrics of a real web process and of a worker's metrics port, JSON logs
with a request id, and that id on the turn's stored events."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.chat_turns import free_port
from chatassist.bootstrap import Container
from chatassist.settings import Settings
from commands.create_workspace.cmd import WorkspaceCreated
from domain.correlation import request_id_of
from tests.conftest import data_root
from tests.fakes.llm_server import FakeLLMServer
from tests.integration.test_restart_and_cli import cli_env
from tests.integration.test_web_process import ask

START_S = 180  # generous: on a loaded machine importing and wiring a process takes tens of seconds


@contextmanager
def web_process(settings: Settings, fake_llm: FakeLLMServer, **extra: str) -> Iterator[tuple[str, list[str]]]:
    """(base URL, its stderr lines once stopped) of `chatassist web` on the test database and the fake Anthropic."""
    assert settings.database_url and settings.redis_url and settings.secret_key
    port, lines = free_port(), []
    env = cli_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
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
        deadline = time.monotonic() + START_S
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and web.poll() is None, "web did not start"
            time.sleep(0.2)
        yield base, lines
    finally:
        web.terminate()
        _, stderr = web.communicate(timeout=60)
        lines.extend(stderr.splitlines())


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }


def scrape(url: str, token: str) -> Samples:
    reply = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return parse(reply.text)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels`` (0 when there is none yet)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_a_chat_turn_moves_the_counters_and_its_request_id_follows_it(
    settings: Settings, fake_llm: FakeLLMServer, workspace: WorkspaceCreated, container: Container
) -> None:
    # Given `chatassist web` with JSON logs and a metrics token, answering through the (fake) Anthropic API
    token = secrets.token_urlsafe(24)
    request_id = f"test-{uuid.uuid4().hex}"
    visitor = f"visitor-{uuid.uuid4().hex}"
    with web_process(settings, fake_llm, CHATASSIST_LOG_FORMAT="json", CHATASSIST_METRICS_TOKEN=token) as (
        base,
        stderr,
    ):
        before = scrape(f"{base}/metrics", token)
        # When a visitor's turn is answered, the caller naming its request id
        reply = ask(base, workspace.widget_key, visitor, **{"X-Request-ID": request_id, "Accept": "application/json"})
        after = scrape(f"{base}/metrics", token)
        # and callers without the token, with a wrong one, and with an id that is not sane, call too
        anonymous = httpx.get(f"{base}/metrics", timeout=10)
        wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer not-the-token"}, timeout=10)
        odd = httpx.get(f"{base}/health", headers={"X-Request-ID": "two words & more"}, timeout=10)
        fresh = httpx.get(f"{base}/health", timeout=10)
    # I expect the turn answered by the model, and the request id returned
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["provider"] == "anthropic"
    assert reply.headers["x-request-id"] == request_id
    # the turn, its model call, its tokens and its route counted
    delta = {
        "answered": total(after, "chatassist_chat_turns_total", outcome="answered")
        - total(before, "chatassist_chat_turns_total", outcome="answered"),
        "calls": total(after, "chatassist_model_calls_total", provider="anthropic", model=body["model"])
        - total(before, "chatassist_model_calls_total", provider="anthropic", model=body["model"]),
        "call_seconds": total(after, "chatassist_model_call_duration_seconds_count", provider="anthropic")
        - total(before, "chatassist_model_call_duration_seconds_count", provider="anthropic"),
        "input": total(after, "chatassist_model_tokens_total", provider="anthropic", kind="input")
        - total(before, "chatassist_model_tokens_total", provider="anthropic", kind="input"),
        "output": total(after, "chatassist_model_tokens_total", provider="anthropic", kind="output")
        - total(before, "chatassist_model_tokens_total", provider="anthropic", kind="output"),
        "chat_requests": total(
            after, "chatassist_http_request_duration_seconds_count", method="POST", route="/api/chat", status="200"
        )
        - total(
            before, "chatassist_http_request_duration_seconds_count", method="POST", route="/api/chat", status="200"
        ),
    }
    usage = body["usage"]
    assert delta == {
        "answered": 1,
        "calls": body["attempts"],
        "call_seconds": body["attempts"],
        "input": usage["input_tokens"],
        "output": usage["output_tokens"],
        "chat_requests": 1,
    }
    if body["cost_usd"] not in (None, "0"):
        assert total(after, "chatassist_model_cost_usd_total", provider="anthropic") > 0
    # no label names a workspace, a visitor, a conversation, or the token
    labels = " ".join(v for (_, ls) in after for _, v in ls)
    for private in (str(workspace.workspace_id), workspace.widget_key, visitor, body["conversation_id"], token):
        assert private not in labels
    # /metrics refused without the token and with a wrong one, with the one error body
    assert (anonymous.status_code, anonymous.json()["code"]) == (403, "metrics_forbidden")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "metrics_forbidden")
    # an id that is not sane replaced by a new one; a request without one given one
    for answered in (odd, fresh):
        assert len(answered.headers["x-request-id"]) == 32 and answered.headers["x-request-id"] != request_id
    # every log line is one JSON object; the turn's line carries the request id
    lines = [line for line in stderr if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed), lines
    turn_lines = [p for p in parsed if p.get("request_id") == request_id]
    assert any(body["conversation_id"] in p["message"] and "answered" in p["message"] for p in turn_lines), parsed
    # and every event the turn stored carries it
    events = list(container.app.events.get(uuid.UUID(body["conversation_id"])))
    names = [type(e).__name__ for e in events]
    assert {"Started", "UserMessageReceived", "ModelCallMade", "AssistantReplied"} <= set(names), names
    assert [request_id_of(e) for e in events] == [request_id] * len(events)


@contextmanager
def worker_process(settings: Settings, namespace: str, **extra: str) -> Iterator[tuple[int, list[str]]]:
    """(metrics port, its stderr lines once stopped) of `chatassist worker` on the test's servers."""
    assert settings.database_url and settings.redis_url and settings.secret_key
    port, lines = free_port(), []
    env = cli_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        CHATASSIST_SECRET_KEY=settings.secret_key,
        CHATASSIST_BROKER_NAMESPACE=namespace,
        CHATASSIST_METRICS_PORT=str(port),
        **extra,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "chatassist.cli", "worker", "--threads", "1"],
        cwd=data_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield port, lines
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
        lines.extend(stderr.splitlines())


def test_the_worker_serves_projection_lag_and_queue_depth_on_its_metrics_port(
    settings: Settings, container: Container
) -> None:
    # Given a dead-lettered Dramatiq message and a dead webhook delivery (a workspace of its own)
    assert settings.redis_url and settings.database_url
    namespace, token, dead_id = f"metrics-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(24), uuid.uuid4()
    dead_letters = f"{namespace}:integrations.hubspot.XQ"  # the tables exist: the container fixture migrated
    redis.Redis.from_url(settings.redis_url).zadd(dead_letters, {"a-dead-message": 1.0})
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO integration_v1_deliveries (id, workspace_id, target_id, kind, event_type, notification_id,"
            " event_at, body, status) VALUES (%s, %s, 'metrics-test', 'webhook', 'test', 1, now(), '', 'dead')",
            (dead_id, uuid.uuid4()),
        )
    # and `chatassist worker` with a metrics port and a token
    with worker_process(settings, namespace, CHATASSIST_METRICS_TOKEN=token) as (port, stderr):
        url = f"http://127.0.0.1:{port}/metrics"
        # When Prometheus scrapes its port (once it listens and its runners have started)
        deadline, samples = time.monotonic() + START_S, {}
        while time.monotonic() < deadline:
            try:
                samples = scrape(url, token)
                if any(n == "chatassist_projection_lag_events" for n, _ in samples):
                    break
            except (httpx.TransportError, AssertionError):
                pass
            time.sleep(0.2)
        refused = httpx.get(url, timeout=10)
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            dead_webhooks = conn.execute(
                "SELECT count(*) FROM integration_v1_deliveries WHERE kind = 'webhook' AND status = 'dead'"
            ).fetchone()
            conn.execute("DELETE FROM integration_v1_deliveries WHERE id = %s", (dead_id,))
        redis.Redis.from_url(settings.redis_url).delete(dead_letters)
    # I expect each projection's lag, each queue's depth and dead letters, and the deliveries by state
    projections = {dict(ls)["projection"] for n, ls in samples if n == "chatassist_projection_lag_events"}
    assert projections == {"transcripts", "usage", "analytics", "audit", "monitor", "knowledge", "integrations"}, (
        stderr[-20:]
    )
    assert all(v >= 0 for (n, _), v in samples.items() if n.startswith("chatassist_projection_lag"))
    queues = {dict(ls)["queue"] for n, ls in samples if n == "chatassist_dramatiq_dead_letters"}
    assert {"chatassist", "integrations.webhooks", "integrations.slack"} <= queues, queues
    assert total(samples, "chatassist_dramatiq_dead_letters", queue="integrations.hubspot") == 1
    assert total(samples, "chatassist_dramatiq_dead_letters", queue="integrations.slack") == 0
    states = {dict(ls)["state"] for n, ls in samples if n == "chatassist_dramatiq_queue_messages"}
    assert states == {"queued", "unacked", "delayed"}
    kinds = {dict(ls)["kind"] for n, ls in samples if n == "chatassist_integration_deliveries"}
    assert {"webhook", "slack", "zendesk", "hubspot"} <= kinds
    assert dead_webhooks is not None and dead_webhooks[0] >= 1
    assert total(samples, "chatassist_integration_deliveries", kind="webhook", state="dead") == dead_webhooks[0]
    # and the port refuses a scrape without the token
    assert refused.status_code == 403
