"""Each process kind stays within its PostgreSQL connection budget (docs/operations.md, "Connections").

Each process runs on a database of its own, so that pg_stat_activity's sessions on that database are its sessions.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from chatassist.bootstrap import PROJECTIONS
from chatassist.pools import connection_budget
from chatassist.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.integration.test_embedded_shared import free_port
from tests.integration.test_outages import CHAT, JSON, process, wait_until
from tests.integration.test_restart_and_cli import cli_env
from tests.support.accounts import sign_up
from tests.support.runner_locks import lock_holders
from tests.support.services import throwaway_database

# Issue 12's targets for the connections held at rest (docs/operations.md, "Connections")
TARGETS = {"web": 8, "worker": 6, "up": 12}
BUDGET = connection_budget(Settings())["per_process"]


def sessions(server_url: str, database_url: str) -> int:
    """Sessions on the database of ``database_url`` (counted from another database)."""
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(make_conninfo(server_url, dbname="postgres")) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else 0


def runners_active(server_url: str, database_url: str) -> bool:
    """Every projection's runner holds its lock, and the integrations follower its own (a 7th lock of the runners'
    shared session)."""
    names = [projection.name for projection, _ in PROJECTIONS.values()]
    with psycopg.connect(make_conninfo(server_url, dbname=conninfo_to_dict(database_url)["dbname"])) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory'"
            " AND l.granted AND a.datname = current_database()"
            " AND a.application_name LIKE 'chatassist projection runners pid %'"
        ).fetchone()
        return len(lock_holders(conn, names)) == len(names) and row is not None and row[0] == len(names) + 1


def settled(server_url: str, database_url: str, quiet_s: float = 3.0) -> int:
    """The session count once it has not changed for ``quiet_s`` (background connects and closes done)."""
    last, since = sessions(server_url, database_url), time.monotonic()
    deadline = since + 60
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sessions(server_url, database_url)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return now
    return last


@pytest.mark.parametrize("kind", ["web", "worker", "up"])
def test_a_process_at_rest_holds_no_more_connections_than_its_budget(
    kind: str, service_urls: tuple[str, str], tmp_path: Path
) -> None:
    with throwaway_database(service_urls[0]) as database_url:
        port = free_port()
        env = cli_env(
            DATABASE_URL=database_url,
            REDIS_URL=service_urls[1],
            CHATASSIST_SECRET_KEY=TEST_SECRET_KEY,
            CHATASSIST_DATA_DIR=str(tmp_path / "data"),
        )
        args = ["--port", str(port)] if kind != "worker" else []
        with process(kind, env, *args) as proc:
            client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
            if kind == "worker":
                # the worker is up when its runners hold their locks (in one session shared by all, besides its
                # pool and the runners' pages pool)
                wait_until(lambda: runners_active(service_urls[0], database_url), 90, "worker runners started")
            else:
                wait_until(lambda: proc.poll() is None and client.get("/ready").status_code == 200, 90, "ready")
                # a little work first: a sign-up and a chat turn (the pool grows, then gives back what it needs not)
                _, body = sign_up(client)
                turn = client.post("/api/chat", json=CHAT, headers={"X-Widget-Key": body["widget_key"], **JSON})
                assert turn.status_code == 200, turn.text
            held = settled(service_urls[0], database_url)
            print(f"{kind}: {held} PostgreSQL sessions at rest")
            assert proc.poll() is None
            # the pool keeps what a burst opened until it has been idle a minute: at most its size
            assert held <= BUDGET[kind]["at_most"], (kind, held, BUDGET[kind])
            assert held <= TARGETS.get(kind, held), (kind, held)
