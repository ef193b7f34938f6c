"""PostgreSQL and Redis go away under running processes: requests fail fast with 503 and recover by themselves.

The PostgreSQL here is an embedded cluster of the test's own (a temp dir), which the test stops and starts: never
the shared server that other test sessions use. Redis is "down" for a web process by pointing it at a port nothing
listens on, or by a Redis of the test's own that it shuts down and starts again.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from chatassist.embedded_servers import start_postgres, start_redis, stop_postgres, stop_redis
from projections._live import channel, notice
from read_api._live import LiveHub
from tests.conftest import TEST_SECRET_KEY, data_root
from tests.integration.test_embedded_shared import free_port
from tests.integration.test_restart_and_cli import cli_env
from tests.support.accounts import bearer, sign_up
from web.live import ConversationSignals

pytestmark = pytest.mark.embedded
CHAT = {"message": "How do I reset my password?", "user": {"id": "visitor-1"}}
JSON = {"Accept": "application/json"}


@dataclass
class Cluster:
    """An embedded PostgreSQL of this test: its data dir and the URL of a database on it."""

    pgdata: Path
    url: str

    def stop(self) -> None:
        stop_postgres(self.pgdata)

    def start(self) -> None:
        start_postgres(self.pgdata)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A PostgreSQL cluster of this test only (stopped at the end)."""
    pgdata = tmp_path / "pg"
    socket_dir = start_postgres(pgdata)
    admin = f"postgresql://postgres@/postgres?host={socket_dir}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE outage")
    try:
        yield Cluster(pgdata, f"postgresql://postgres@/outage?host={socket_dir}")
    finally:
        stop_postgres(pgdata)


@dataclass
class Proc:
    """A running `chatassist` process; ``stderr``: what it wrote there, once stopped."""

    popen: subprocess.Popen[str]
    stderr: str = ""

    def poll(self) -> int | None:
        return self.popen.poll()


@contextmanager
def process(kind: str, env: dict[str, str], *args: str) -> Iterator[Proc]:
    """`chatassist <kind>` in the background, stopped (SIGTERM) at the end."""
    proc = Proc(
        subprocess.Popen(
            [sys.executable, "-m", "chatassist.cli", kind, *args],
            cwd=data_root(),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    try:
        yield proc
    finally:
        proc.popen.terminate()
        try:
            _, proc.stderr = proc.popen.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            _, proc.stderr = proc.popen.communicate()
        sys.stderr.write(f"--- chatassist {kind} stderr ---\n{proc.stderr[-4000:]}\n")


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()  # type: ignore[operator]
            if last:
                return
        except httpx.TransportError as err:
            last = err
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; last: {last!r}")


def timed(call: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return response, time.monotonic() - started


def test_postgres_down_answers_503_fast_and_everything_recovers_without_a_restart(
    cluster: Cluster, service_urls: tuple[str, str]
) -> None:
    # Given a web process and a worker (projections, actors) on a PostgreSQL of our own
    port = free_port()
    env = cli_env(DATABASE_URL=cluster.url, REDIS_URL=service_urls[1], CHATASSIST_SECRET_KEY=TEST_SECRET_KEY)
    subprocess.run(
        [sys.executable, "-m", "chatassist.cli", "migrate"], cwd=data_root(), env=env, check=True, capture_output=True
    )
    with process("web", env, "--port", str(port)) as web, process("worker", env) as worker:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        wait_until(lambda: web.poll() is None and client.get("/ready").status_code == 200, 60, "web ready")
        admin, body = sign_up(client)
        widget = {"X-Widget-Key": body["widget_key"], **JSON}
        first = client.post("/api/chat", json=CHAT, headers=widget)
        assert first.status_code == 200, first.text

        # When PostgreSQL stops
        cluster.stop()

        # Then the chat and the dashboard's API answer 503 database_unavailable with Retry-After within 3 s, every time
        for _ in range(3):
            for response, took in (
                timed(lambda: client.post("/api/chat", json=CHAT, headers=widget)),
                timed(lambda: client.get("/api/analytics/overview", headers=bearer(admin.access_token))),
                timed(lambda: client.get("/api/monitor", headers=bearer(admin.access_token))),
            ):
                assert response.status_code == 503, (response.request.url, response.text)
                assert response.json()["code"] == "database_unavailable", response.text
                assert response.headers["Retry-After"].isdigit()
                assert took < 3.0, f"{response.request.url} took {took:.1f} s"
        # /ready says what is down within a second; /health stays 200
        ready, took = timed(lambda: client.get("/ready"))
        assert ready.status_code == 503 and took < 1.0, (ready.text, took)
        assert ready.json()["checks"]["database"].startswith("unavailable"), ready.text
        assert ready.json()["checks"]["redis"] == "ok", ready.text
        assert "database" in ready.json()["message"]
        assert client.get("/health").status_code == 200

        # When PostgreSQL comes back, with no restart of either process
        cluster.start()

        # Then the chat and the dashboard answer again, and the worker's projections caught up with the new turn
        def chat_ok() -> bool:
            return client.post("/api/chat", json=CHAT, headers=widget).status_code == 200

        wait_until(chat_ok, 60, "chat answers again")
        wait_until(lambda: client.get("/ready").status_code == 200, 30, "ready again")
        overview = client.get("/api/analytics/overview", headers=bearer(admin.access_token))
        assert overview.status_code == 200, overview.text
        last = client.post("/api/chat", json={**CHAT, "message": "A question after the outage"}, headers=widget)
        assert last.status_code == 200, last.text
        conversation_id = last.json()["conversation_id"]

        def transcribed() -> bool:
            with psycopg.connect(cluster.url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM transcript_v2_messages WHERE conversation_id = %s", (conversation_id,)
                ).fetchone()
            return bool(row and row[0] >= 2)

        wait_until(transcribed, 60, "the worker's transcripts runner applied the turn after the outage")
        assert worker.poll() is None and web.poll() is None


def test_the_worker_and_the_scheduler_recover_when_postgresql_and_redis_return(
    cluster: Cluster, tmp_path: Path
) -> None:
    # Given web, worker (projections, Dramatiq actors) and scheduler processes on a PostgreSQL and a Redis of our own,
    # the scheduler closing every idle conversation (idle 0 minutes) through the worker's close actor
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis_url = f"unix://{start_redis(redis_dir)}"
    port = free_port()
    env = cli_env(
        DATABASE_URL=cluster.url,
        REDIS_URL=redis_url,
        CHATASSIST_SECRET_KEY=TEST_SECRET_KEY,
        CHATASSIST_IDLE_CLOSE_MINUTES="0",
        CHATASSIST_METRICS_PORT="0",
    )
    subprocess.run(
        [sys.executable, "-m", "chatassist.cli", "migrate"], cwd=data_root(), env=env, check=True, capture_output=True
    )

    def status_of(conversation_id: str) -> str | None:
        try:
            with psycopg.connect(cluster.url, connect_timeout=3) as conn:
                row = conn.execute(
                    "SELECT status FROM transcript_v2_conversations WHERE id = %s", (conversation_id,)
                ).fetchone()
        except psycopg.OperationalError:
            return None
        return None if row is None else str(row[0])

    try:
        with (
            process("web", env, "--port", str(port)) as web,
            process("worker", env) as worker,
            process("scheduler", env) as scheduler,
        ):
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            wait_until(lambda: web.poll() is None and client.get("/ready").status_code == 200, 60, "web ready")
            _, body = sign_up(client)
            widget = {"X-Widget-Key": body["widget_key"], **JSON}
            first = client.post("/api/chat", json=CHAT, headers=widget)
            assert first.status_code == 200, first.text
            # (the close job runs every 60 s: the chain works before the outage)
            wait_until(lambda: status_of(first.json()["conversation_id"]) == "closed", 150, "first conversation closed")

            # When PostgreSQL and Redis both stop for 3 s, then come back (no process restarted)
            cluster.stop()
            stop_redis(redis_dir)
            time.sleep(3)
            cluster.start()
            start_redis(redis_dir)

            # Then a conversation begun afterwards is closed too: the scheduler took its leader lock again and sent
            # the close over Redis, the worker's Dramatiq consumer received it and saved the close, and the worker's
            # transcripts runner applied it
            def chat_again() -> httpx.Response | None:
                response = client.post("/api/chat", json={**CHAT, "user": {"id": "visitor-2"}}, headers=widget)
                return response if response.status_code == 200 else None

            wait_until(chat_again, 60, "chat answers again")
            second = client.post("/api/chat", json={**CHAT, "user": {"id": "visitor-3"}}, headers=widget)
            assert second.status_code == 200, second.text
            wait_until(
                lambda: status_of(second.json()["conversation_id"]) == "closed",
                200,
                "a conversation begun after the outage closed by the scheduler and the worker",
            )
            assert worker.poll() is None and scheduler.poll() is None and web.poll() is None
    finally:
        stop_redis(redis_dir)


def test_redis_down_the_chat_goes_on_without_rate_limits_logged_once(
    service_urls: tuple[str, str], database_url: str
) -> None:
    # Given a web process whose Redis does not answer (nothing listens on its port)
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    port = free_port()
    env = cli_env(DATABASE_URL=database_url, REDIS_URL=service_urls[1], CHATASSIST_SECRET_KEY=TEST_SECRET_KEY)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    with process("web", env, "--port", str(port)) as web:  # sign up while Redis answers: a widget key
        wait_until(lambda: web.poll() is None and client.get("/ready").status_code == 200, 60, "web ready")
        _, body = sign_up(client)
    widget = {"X-Widget-Key": body["widget_key"], **JSON}
    env["REDIS_URL"] = dead_redis
    with process("web", env, "--port", str(port)) as web:
        wait_until(lambda: web.poll() is None and client.get("/health").status_code == 200, 60, "web up")
        # When visitors chat
        for i in range(4):
            turn = {**CHAT, "user": {"id": f"visitor-{i}"}}
            response = client.post("/api/chat", json=turn, headers=widget)
            # Then each turn is answered (the rate limits let it through)
            assert response.status_code == 200, response.text
        # and /ready names Redis
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unavailable"), ready.text
    # and the rate limits' outage was logged once, not per turn
    assert web.stderr.count("rate limits are off while Redis does not answer") == 1, web.stderr


async def test_live_fan_out_resumes_when_redis_comes_back(tmp_path: Path) -> None:
    # Given a web process's live hub and conversation wake-ups on a Redis of this test's own, a client listening
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis_url = f"unix://{start_redis(redis_dir)}"
    hub = LiveHub(redis_url)
    signals = ConversationSignals(redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2))
    workspace, conversation = uuid.uuid4(), uuid.uuid4()
    publisher = redis.Redis.from_url(redis_url)
    try:
        async with hub.listen(workspace) as listener:
            with signals.waiter(conversation) as woken:
                await asyncio.to_thread(signals.subscribed.wait, 10)
                publisher.publish(channel(workspace), notice("transcripts", workspace, 1))
                assert await listener.wait(10), "a notice before the outage"
                listener.take()
                signals.publish(conversation)
                await asyncio.wait_for(woken.wait(), 10)
                woken.clear()

                # When Redis stops and comes back (the same socket, as a restarted server)
                stop_redis(redis_dir)
                await asyncio.sleep(1.5)
                start_redis(redis_dir)
                publisher = redis.Redis.from_url(redis_url)

                # Then the hub resubscribes and wakes its clients to re-read, and later notices arrive again
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    publisher.publish(channel(workspace), notice("transcripts", workspace, 2))
                    if await listener.wait(0.5) and listener.take().get("transcripts") == 2:
                        break
                else:
                    raise AssertionError("no live notice reached the client after Redis came back")
                # and the visitors' wake-ups resubscribe too
                while time.monotonic() < deadline:
                    signals.publish(conversation)
                    try:
                        await asyncio.wait_for(woken.wait(), 0.5)
                        break
                    except TimeoutError:
                        continue
                else:
                    raise AssertionError("no conversation wake-up after Redis came back")
    finally:
        signals.close()
        await hub.close()
        publisher.close()
        stop_redis(redis_dir)
