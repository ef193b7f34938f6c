"""The eventsourcing Application that owns every aggregate's event stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from commands._correlation import MAPPER_TOPIC
from commands.transcoder import FastJSONTranscoder

if TYPE_CHECKING:
    from eventsourcing.postgres import PostgresApplicationRecorder


class ChatAssistApp(Application[UUID]):
    """One event store (table ``chatassist_events``) for workspaces and conversations.

    Aggregates are cached in-process; ``fastforward`` reads any newer events another
    process wrote, so several web processes can share the store safely. Stored events are
    decoded by ``FastJSONTranscoder`` (the library's bytes, a faster decode: docs/adr/0009);
    ``TRANSCODER_TOPIC=eventsourcing.persistence:JSONTranscoder`` in the environment puts
    the library's own back.
    """

    name = "ChatAssist"
    recorder: PostgresApplicationRecorder  # the one SQL dialect (docs/architecture.md): PostgreSQL
    knowledge_search: Any = None  # the knowledge read model's search, attached by bootstrap (docs/knowledge.md)
    knowledge_allow_private: bool = False  # CHATASSIST_CRAWL_ALLOW_PRIVATE, set by bootstrap
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "5000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "TRANSCODER_TOPIC": get_topic(FastJSONTranscoder),
        "MAPPER_TOPIC": MAPPER_TOPIC,  # each event stores the request id that caused it (commands/_correlation.py)
    }
