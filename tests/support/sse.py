"""A small SSE reader for tests: parse a text/event-stream body into (event, data) pairs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def parse_sse(lines: Iterable[str]) -> list[tuple[str, Any]]:
    """Events in order; ``data`` is decoded JSON."""
    events: list[tuple[str, Any]] = []
    name, data = "message", []
    for raw in lines:
        line = raw.rstrip("\r")
        if line == "":
            if data:
                events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        events.append((name, json.loads("\n".join(data))))
    return events


def names(events: list[tuple[str, Any]]) -> list[str]:
    """Just the event names, collapsing runs of deltas into one 'delta*'."""
    out: list[str] = []
    for name, _ in events:
        if name == "delta" and out and out[-1] == "delta*":
            continue
        out.append("delta*" if name == "delta" else name)
    return out
