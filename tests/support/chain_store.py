"""A bare chained event store for the tamper-evidence tests (tests/integration/test_event_chain.py,
test_chain_anchors.py): a throwaway database, the application on it, and events of any stream and version."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from eventsourcing.persistence import StoredEvent

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
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
