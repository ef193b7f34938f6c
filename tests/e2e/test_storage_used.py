"""Storage used (issue 20): the running total per workspace (ADR 0058) equals a direct sum of the workspace's
stored events, after the first read and after further turns folded incrementally; the transcript runner keeps it, and
a read (the API, the Settings page) writes nothing (ADR 0061)."""

from __future__ import annotations

import uuid

import httpx
import psycopg

from chatassist.bootstrap import Container
from commands.create_workspace import cmd as create_ws
from domain.app_settings import app_settings_id
from domain.prompt_config import prompt_config_id
from domain.provider_keys import keyring_id
from projections.transcripts.storage import FOLD_LOCK, TOTALS
from read_api.get_storage_used.query import POSITION, recount, storage_used
from tests.conftest import chat
from tests.support.accounts import sign_up

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


def fold_state(container: Container) -> tuple[int, int, int]:
    """The fold's position, and the number and sum of the totals' rows."""
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(
            f"SELECT (SELECT notification_id FROM {POSITION}), count(*), coalesce(sum(bytes), 0)::bigint FROM {TOTALS}"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_reading_storage_used_writes_nothing(client: httpx.Client, container: Container) -> None:
    # Given a workspace whose admin has chatted, its storage counted by the transcript runner as it went
    admin, body = sign_up(client, workspace=f"Read Only {uuid.uuid4().hex[:6]}")
    ws = uuid.UUID(admin.workspace_id)
    chat(client, body["widget_key"], "How do I reset my password?")
    container.wait_for_projections()
    counted = client.get("/api/settings", headers=admin.headers)
    assert counted.status_code == 200, counted.text
    assert counted.json()["storage_used_bytes"] == direct(container, ws)
    # and the fold rewound to the start, as a recount begins (every event of the store left to add)
    with psycopg.connect(container.database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (FOLD_LOCK,))
        conn.execute(f"DELETE FROM {TOTALS}")
        conn.execute(f"UPDATE {POSITION} SET notification_id = 0")
    try:
        # When the admin reads the settings by the API and opens the Settings page's storage
        api = client.get("/api/settings", headers=admin.headers)
        with httpx.Client(base_url=str(client.base_url), cookies={"ca_session": admin.access_token}) as browser:
            page = browser.get("/app/settings/storage")
        # I expect both answered from what is kept, the fold neither moved nor added to (a read wrote nothing)
        assert api.status_code == 200, api.text
        assert page.status_code == 200, page.text
        assert fold_state(container) == (0, 0, 0)
        own = direct(container, ws) - used_by_conversations(container, ws)
        assert api.json()["storage_used_bytes"] == own < counted.json()["storage_used_bytes"]
    finally:
        # And the recount (the total's rebuild) gives the figure back, exact
        recount(container.transcripts)
    again = client.get("/api/settings", headers=admin.headers).json()["storage_used_bytes"]
    assert again == direct(container, ws) == counted.json()["storage_used_bytes"]
    assert fold_state(container)[0] > 0


def used_by_conversations(container: Container, workspace_id: uuid.UUID) -> int:
    """The bytes of the workspace's conversations' events alone."""
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(octet_length(e.state)), 0)::bigint FROM chatassist_events e"
            " WHERE e.originator_id IN (SELECT c.id FROM transcript_v2_conversations c WHERE c.workspace_id = %s)",
            (workspace_id,),
        ).fetchone()
    assert row is not None
    return int(row[0])
