"""Storage used (issue 20): the running total per workspace (ADR 0058) equals a direct sum of the workspace's
stored events, after the first read and after further turns folded incrementally."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from chatassist.bootstrap import Container
from commands.create_workspace import cmd as create_ws
from domain.app_settings import app_settings_id
from domain.prompt_config import prompt_config_id
from domain.provider_keys import keyring_id
from read_api.get_storage_used.query import POSITION, recount, storage_used
from tests.conftest import chat

DIRECT = (
    "SELECT coalesce(sum(octet_length(e.state)), 0)::bigint FROM chatassist_events e"
    " WHERE e.originator_id = ANY(%s)"
    " OR e.originator_id IN (SELECT c.id FROM transcript_v2_conversations c WHERE c.workspace_id = %s)"
)


def own_ids(workspace_id: uuid.UUID) -> list[uuid.UUID]:
    return [app_settings_id(workspace_id), keyring_id(workspace_id), prompt_config_id(workspace_id)]


def direct(container: Container, workspace_id: uuid.UUID) -> int:
    """The bytes of the workspace's events, summed over the whole store (what the total replaces)."""
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(DIRECT, ([workspace_id, *own_ids(workspace_id)], workspace_id)).fetchone()
    assert row is not None
    return int(row[0])


def used(container: Container, workspace_id: uuid.UUID) -> int:
    return storage_used(container.transcripts, workspace_id, own_ids(workspace_id))


def test_the_running_total_matches_a_direct_sum_as_the_store_grows(client: httpx.Client, container: Container) -> None:
    # Given two workspaces with conversations of a few turns each
    first = create_ws.execute(container.app, create_ws.CreateWorkspace(f"Store {uuid.uuid4().hex[:6]}"))
    second = create_ws.execute(container.app, create_ws.CreateWorkspace(f"Store {uuid.uuid4().hex[:6]}"))
    for ws, turns in ((first, 3), (second, 1)):
        for n in range(turns):
            events = chat(client, ws.widget_key, f"Question {n}?", user_id=f"visitor-{n}")
            conversation = str(events[0][1]["conversation_id"])
            chat(client, ws.widget_key, "And then?", conversation_id=conversation, user_id=f"visitor-{n}")
    container.wait_for_projections()
    # When each workspace's storage is read, I expect exactly the direct sum, each its own
    a, b = used(container, first.workspace_id), used(container, second.workspace_id)
    assert a == direct(container, first.workspace_id) and b == direct(container, second.workspace_id)
    assert a > b > 0
    with psycopg.connect(container.database_url) as conn:
        folded = conn.execute(f"SELECT notification_id FROM {POSITION}").fetchone()
    assert folded is not None and folded[0] > 0
    # When the second workspace chats more, only its total grows, by the bytes of its new events
    chat(client, second.widget_key, "One more question?", user_id="visitor-9")
    container.wait_for_projections()
    assert used(container, first.workspace_id) == a
    grown = used(container, second.workspace_id)
    assert grown > b and grown == direct(container, second.workspace_id)
    # And a recount (the total's rebuild) from position 0 gives the same figures
    recount(container.transcripts)
    assert used(container, first.workspace_id) == a and used(container, second.workspace_id) == grown
