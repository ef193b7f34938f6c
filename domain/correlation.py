"""The request id of the work in progress: set by the web layer for each request (and by a worker for the event it
handles), stored with each event that work causes, printed on each log line written meanwhile."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

# The key of a stored event's state that holds its metadata ({"request_id": ...}). Not a field of any event class:
# an aggregate's methods never see it (eventsourcing passes a method only the arguments it declares), and events
# stored before it, or outside a request (CLI, scheduler), simply have none.
METADATA_KEY = "_metadata"

REQUEST_ID: ContextVar[str | None] = ContextVar("chatassist_request_id", default=None)


def request_id_of(event: Any) -> str | None:
    """The request id stored with a domain event, or None."""
    metadata = getattr(event, METADATA_KEY, None)
    if isinstance(metadata, dict):
        value = metadata.get("request_id")
        return value if isinstance(value, str) else None
    return None
