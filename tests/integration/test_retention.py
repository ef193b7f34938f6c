"""The retention purge of the read models, on the real PostgreSQL with the projections running: each workspace's rows
older than its ``analytics_retention_days`` go (transcripts, monitor, analytics, usage slots, the follower's copy,
knowledge citations and gaps); newer rows, other workspaces' rows and the events stay; a later event about a purged
conversation does not stop a projection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from chatassist.bootstrap import Container
from chatassist.rebuild import rebuild_all
from commands.change_app_settings import cmd as change_settings
from commands.create_workspace import cmd as create_ws
from domain.clock import events_at
from domain.conversation import Conversation, ModelCall
from workers.retention import purge_read_models

ADMIN = uuid.UUID("00000000-0000-0000-0000-0000000000ad")
# (table, the column naming the conversation)
PER_CONVERSATION = (
    ("transcript_v2_conversations", "id"),
    ("transcript_v2_messages", "conversation_id"),
    ("monitor_v1_conversations", "id"),
    ("analytics_v2_conversations", "id"),
    ("knowledge_v1_citations", "conversation_id"),
)


def workspace(container: Container, retention_days: int | None) -> UUID:
    ws = create_ws.execute(container.app, create_ws.CreateWorkspace(f"Retention {uuid.uuid4().hex[:6]}")).workspace_id
    if retention_days is not None:
        change_settings.execute(
            container.app, change_settings.ChangeSettings(ws, ADMIN, {"analytics_retention_days": retention_days})
        )
    return ws


def conversation(container: Container, ws: UUID, days_ago: float, question: str) -> Conversation:
    """A chat as it happened ``days_ago``: a question, a model call, an answer citing an article that also marks
    a knowledge gap, closed."""
    with events_at(datetime.now(UTC) - timedelta(days=days_ago)):
        c = Conversation(ws, "web", {"user_id": f"v-{uuid.uuid4().hex[:6]}", "email": "ada@example.com"})
        c.receive("m0", question)
        c.record_model_call(
            "m0",
            ModelCall(f"c-{uuid.uuid4().hex[:6]}", "anthropic", "claude-sonnet-4-6", 1, 1, 100, 10, 0, 0,
                      200.0, 900.0, Decimal("0.001"), "ok"),
        )  # fmt: skip
        knowledge = {"citations": [{"article_id": str(uuid.uuid4()), "title": "Billing"}], "gap": True,
                     "workspace_id": str(ws), "support": 0.1}  # fmt: skip
        c.reply("r0", "m0", "Here is how.", confidence=0.4, topic="billing", provider="anthropic",
                model="claude-sonnet-4-6", prompt_version=1, knowledge=knowledge, question=question)  # fmt: skip
        c.close("visitor_closed")
    container.app.save(c)
    return c


def count(container: Container, query: str, *params: Any) -> int:
    with psycopg.connect(container.database_url) as conn:
        row = conn.execute(query.encode(), params).fetchone()
    return int(row[0]) if row else 0


def kept(container: Container, conversation_id: UUID) -> dict[str, int]:
    """How many rows each per-conversation read model holds for the conversation."""
    return {
        table: count(container, f"SELECT count(*) FROM {table} WHERE {column} = %s", conversation_id)
        for table, column in PER_CONVERSATION
    }


def test_the_purge_deletes_each_workspaces_rows_past_its_own_window(container: Container) -> None:
    # Given a workspace keeping 30 days with a chat from 40 days ago and one from today, and a workspace keeping the
    # default 365 days with a chat from 40 days ago too
    short, default = workspace(container, 30), workspace(container, None)
    old = conversation(container, short, 40, "How do I export my invoices to a spreadsheet?")
    new = conversation(container, short, 0, "Where do I change my password?")
    other = conversation(container, default, 40, "How do I export my invoices to a spreadsheet?")
    container.wait_for_projections()
    for c in (old, new, other):
        assert all(kept(container, c.id).values()), kept(container, c.id)
    slots = "SELECT count(*) FROM analytics_v2_usage_slots WHERE workspace_id = %s"
    hours = "SELECT count(*) FROM analytics_v2_usage_hourly WHERE workspace_id = %s"
    gaps = "SELECT count(*) FROM knowledge_v1_gaps WHERE workspace_id = %s"
    assert count(container, slots, short) == 2 and count(container, hours, short) == 2
    assert count(container, gaps, short) == 2
    events_before = count(container, "SELECT count(*) FROM chatassist_events WHERE originator_id = %s", old.id)
    # When the scheduler's daily purge runs
    purged = purge_read_models(container.app, container.database_url)
    # I expect the old chat of the 30-day workspace gone from every read model, with its usage slot and its gap
    assert purged[str(short)] == {"transcripts": 1, "monitor": 1, "analytics": 1, "usage_slots": 2,
                                  "knowledge_gaps": 1}  # fmt: skip
    assert not any(kept(container, old.id).values()), kept(container, old.id)
    assert count(container, slots, short) == 1 and count(container, hours, short) == 1
    assert count(container, gaps, short) == 1
    # and today's chat, the other workspace's chat of 40 days ago and the events all kept
    assert all(kept(container, new.id).values()) and all(kept(container, other.id).values())
    assert str(default) not in purged
    assert count(container, "SELECT count(*) FROM chatassist_events WHERE originator_id = %s", old.id) == (
        events_before
    )
    # When the purge runs again, it finds nothing more
    assert str(short) not in purge_read_models(container.app, container.database_url)


def test_a_later_event_about_a_purged_conversation_does_not_stop_the_projections(container: Container) -> None:
    # Given a chat of 40 days ago purged from a workspace keeping 30 days
    ws = workspace(container, 30)
    old = conversation(container, ws, 40, "Can I pay by bank transfer?")
    container.wait_for_projections()
    purge_read_models(container.app, container.database_url)
    assert not any(kept(container, old.id).values())
    # When the visitor rates it now (an event about a conversation the read models no longer hold)
    again = container.app.repository.get(old.id)
    again.rate(5, "late but thanks")
    container.app.save(again)
    # I expect every projection to move past it (none parked), the conversation not recreated half-empty, and the
    # projections still applying new chats
    container.wait_for_projections()
    assert count(container, "SELECT count(*) FROM projection_parked WHERE scope = %s", ws) == 0
    assert count(container, "SELECT count(*) FROM transcript_v2_conversations WHERE id = %s", old.id) == 0
    assert count(container, "SELECT count(*) FROM monitor_v1_conversations WHERE id = %s", old.id) == 0
    fresh = conversation(container, ws, 0, "Can I pay by card?")
    container.wait_for_projections()
    assert all(kept(container, fresh.id).values())


def test_a_library_rebuild_purges_again_after_its_swap(container: Container) -> None:
    # Given a chat of 40 days ago purged from a workspace keeping 30 days, and a chat of today
    ws = workspace(container, 30)
    old = conversation(container, ws, 40, "Do you ship to Norway?")
    new = conversation(container, ws, 0, "Do you ship to Iceland?")
    container.wait_for_projections()
    purge_read_models(container.app, container.database_url)
    assert not any(kept(container, old.id).values())
    # When the transcripts and monitor views are rebuilt from the events with the library's function (not the CLI)
    result = rebuild_all(container, ["transcripts", "monitor"], workers=1)
    # I expect the old chat not restored (the pass purged again after its swap) and today's chat kept
    assert result.purged >= 2
    assert count(container, "SELECT count(*) FROM transcript_v2_conversations WHERE id = %s", old.id) == 0
    assert count(container, "SELECT count(*) FROM monitor_v1_conversations WHERE id = %s", old.id) == 0
    assert count(container, "SELECT count(*) FROM transcript_v2_conversations WHERE id = %s", new.id) == 1
    assert count(container, "SELECT count(*) FROM monitor_v1_conversations WHERE id = %s", new.id) == 1
