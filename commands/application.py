"""The eventsourcing Application that owns every aggregate's event stream."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from commands.personal_data.keys import registered
from commands.personal_data.seal import MAPPER_TOPIC, SealingMapper
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
        "MAPPER_TOPIC": MAPPER_TOPIC,  # request ids (commands/_correlation.py), personal fields sealed (ADR 0044)
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keys = getattr(self.mapper, "keys", None)
        if keys is not None:  # the key statements run on this store's pool (in the connection budget)
            keys.use_pool(self.recorder.datastore)

    def construct_mapper(self) -> Any:
        """The library's mapper (``SealingMapper``), given the personal data keys registered for this database
        (chatassist/bootstrap.py registers them; without them, events are stored and read as they are)."""
        mapper = super().construct_mapper()
        if isinstance(mapper, SealingMapper):
            mapper.keys = registered(*(str(self.env.get(f"POSTGRES_{n}")) for n in ("HOST", "PORT", "DBNAME")))
        return mapper
