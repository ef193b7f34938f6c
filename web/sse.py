"""Server-sent events written as bytes by us: msgspec-encoded payloads, no thread hop (ADR 0059).

Litestar's ``ServerSentEvent`` sends its optional leading fields through ``sync_to_thread`` (one worker-thread hop
per response, even when there are none) and builds every message with a ``StringIO`` and a regex split. A chat
turn's stream is a handful of small JSON messages, so it is framed here: ``event:`` and one ``data:`` line per
message (JSON has no raw line break), encoded by msgspec, and served by a plain ``Stream``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec
from litestar.response import Stream

_encode = msgspec.json.Encoder().encode
HEADERS = {"Cache-Control": "no-store", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def frame(event: str, payload: Any) -> bytes:
    """One SSE message: ``event: <event>``, ``data: <payload as JSON>`` and the blank line that ends it."""
    return b"event: " + event.encode() + b"\r\ndata: " + _encode(payload) + b"\r\n\r\n"


def event_stream(messages: AsyncIterator[bytes], headers: Mapping[str, str] | None = None) -> Stream:
    """A ``text/event-stream`` response of already framed messages (see ``frame``)."""
    return Stream(messages, media_type="text/event-stream", headers={**HEADERS, **(headers or {})})
