"""Real PostgreSQL and Redis for tests: the servers named in the environment, else embedded ones."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

TEST_DATABASE_URL = "CHATASSIST_TEST_DATABASE_URL"
TEST_REDIS_URL = "CHATASSIST_TEST_REDIS_URL"


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    """(server-level database URL, Redis URL). Embedded servers in a temp dir when none are configured."""
    database_url, redis_url = os.environ.get(TEST_DATABASE_URL), os.environ.get(TEST_REDIS_URL)
    if database_url and redis_url:
        yield database_url, redis_url
        return
    from chatassist.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="ca-test-") as tmp:
        services = start_embedded(Path(tmp))
        try:
            yield database_url or services.database_url, redis_url or services.redis_url
        finally:
            services.stop()


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A fresh, uniquely named database on the server, dropped afterwards."""
    name = f"chatassist_test_{uuid.uuid4().hex[:12]}"
    admin = make_conninfo(server_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(server_url, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
