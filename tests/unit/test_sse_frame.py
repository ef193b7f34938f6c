"""web/sse.py frames a chat turn's SSE messages itself: the same events and data as Litestar's, one data line."""

from __future__ import annotations

import json

from litestar.response import ServerSentEventMessage

from tests.support.sse import parse_sse
from web.sse import frame


def test_a_framed_message_reads_as_litestar_wrote_it_even_with_line_breaks_and_accents() -> None:
    # Given a payload with a line break, a carriage return and non-ASCII text
    payload = {"text": "Öffnen Sie\nEinstellungen\r\nund 2FA ✓", "n": 1, "none": None}
    # When it is framed by us and by Litestar (with json.dumps, as the chat turn did before)
    ours = frame("delta", payload).decode()
    theirs = ServerSentEventMessage(event="delta", data=json.dumps(payload)).encode().decode()
    # I expect the same event and the same data, on a single data line ended by a blank line
    assert parse_sse(ours.splitlines()) == parse_sse(theirs.splitlines()) == [("delta", payload)]
    assert ours.count("data:") == 1 and ours.endswith("\r\n\r\n")
