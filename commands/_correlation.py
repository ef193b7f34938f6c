"""The event store's mapper: the library's, plus the request id of the work in progress in each stored event.

``to_stored_event`` adds ``{"_metadata": {"request_id": ...}}`` to the event's state when a request id is set
(domain/correlation.py); ``to_domain_event`` is the library's, so the key comes back as an attribute of the event
that no aggregate method or event field declares (eventsourcing hands a method only the arguments it names). An
auditor's replay shows it in the payload. Events written outside a request carry nothing new.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from domain.correlation import METADATA_KEY, REQUEST_ID

MAPPER_TOPIC = "commands._correlation:CorrelatingMapper"


class CorrelatingMapper(Mapper[Any]):
    """``Mapper`` that stores the current request id with each event it encodes."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        """The library's stored event; with a request id set, its state carries it under ``_metadata``."""
        request_id = REQUEST_ID.get()
        if request_id is None or METADATA_KEY in vars(domain_event):
            return super().to_stored_event(domain_event)
        tagged = object.__new__(type(domain_event))
        object.__setattr__(tagged, "__dict__", {**vars(domain_event), METADATA_KEY: {"request_id": request_id}})
        return super().to_stored_event(tagged)
