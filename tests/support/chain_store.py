"""A bare chained event store for the tamper-evidence tests (tests/integration/test_event_chain.py,
test_chain_anchors.py): a throwaway database, the application on it, and events of any stream and version."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from psycopg import sql

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands._store import link_sql
from commands.application import ChatAssistApp
from tests.support.services import throwaway_database

TABLE, CHAIN = "chatassist_events", "chatassist_events_chain"


@pytest.fixture
def store_url(service_urls: tuple[str, str]) -> Iterator[str]:
    """A throwaway database for one test (the store creates its tables and chain on first use)."""
    with throwaway_database(service_urls[0]) as url:
        yield url


def open_app(url: str) -> ChatAssistApp:
    """The application on the store of ``url``, with a small pool."""
    settings = Settings(database_url=url, db_pool_size=2)
    return ChatAssistApp(env=eventsourcing_env(settings, url))


def event(stream: uuid.UUID, version: int) -> StoredEvent:
    """A small stored event of ``stream`` at ``version`` (its state names both)."""
    return StoredEvent(stream, version, "test:Event", f'{{"n": {version}, "s": "{stream}"}}'.encode())


def install_previous_append(url: str, recorder: Any, name: str | None = None) -> None:
    """Replace the store's append function with its body of sessions 7 to 10 (a PL/pgSQL loop: the predecessor's
    hash looked up once per stream, SHA-256 per event, then a second insert into the chain table), as a store made
    before ADR 0065 has it; the next ``create_table`` puts the current body back. ``name``: install it beside the
    current one under that name instead (bench/chain_cost.py)."""
    schema, events = recorder.datastore.schema, recorder.events_table_name
    table = sql.SQL("{0}.{1}").format(sql.Identifier(schema), sql.Identifier(events))
    chain = sql.SQL("{0}.{1}").format(sql.Identifier(schema), sql.Identifier(f"{events}_chain"))
    body = sql.SQL(
        "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
        "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
        "DECLARE e {schema}.{event}; prev bytea; last_id text; hashes bytea[] := '{{}}'; "
        "BEGIN SET LOCAL lock_timeout = '5s'; NOTIFY {channel}; LOCK TABLE {table} IN EXCLUSIVE MODE; "
        "RETURN QUERY INSERT INTO {table} AS t (originator_id, originator_version, topic, state) "
        "SELECT originator_id, originator_version, topic, state FROM unnest(events) RETURNING notification_id; "
        "FOREACH e IN ARRAY events LOOP IF last_id IS DISTINCT FROM e.originator_id::text THEN "
        "SELECT c.chain_hash INTO prev FROM {chain} c "
        "WHERE c.originator_id = e.originator_id AND c.originator_version = e.originator_version - 1; END IF; "
        "prev := {link}; hashes := hashes || prev; last_id := e.originator_id::text; END LOOP; "
        "INSERT INTO {chain} (originator_id, originator_version, chain_hash) "
        "SELECT u.originator_id, u.originator_version, hashes[u.n] "
        "FROM unnest(events) WITH ORDINALITY AS u(originator_id, originator_version, topic, state, n); "
        "END; $BODY$"
    ).format(
        schema=sql.Identifier(schema),
        function=sql.Identifier(name or recorder.append_function_name),
        event=sql.Identifier(recorder.stored_event_type_name),
        channel=sql.Identifier(recorder.channel_name),
        table=table,
        chain=chain,
        link=sql.SQL(link_sql("prev", "e")),
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(body)
