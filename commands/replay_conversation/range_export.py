"""Every conversation of a date range exported for an auditor (docs/audit.md, "Export of a date range").

JSON Lines: per conversation, first a ``{"record": "conversation", ...}`` line (its id, channel, start and the
check of its hash chain), then one ``{"record": "event", "conversation_id", ...}`` line per event (the fields of
``GET .../events``). Markdown: a heading for the range, each conversation's transcript (export.markdown) after a
rule, and a closing summary of the chain checks. Both are generators fed a page of conversation ids at a time, each
conversation read a batch of events at a time: memory does not grow with the range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from commands._chain import Report, verify_stream
from commands.application import ChatAssistApp
from commands.replay_conversation.events import all_events, started
from commands.replay_conversation.export import TrailEntry, event_line, markdown

BATCH = 500


def chain_report(app: ChatAssistApp, conversation_id: UUID) -> Report:
    """The check of the conversation's hash chain (commands/_chain.py)."""
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn:
        return verify_stream(conn, recorder.events_table_name, conversation_id)


def _chain_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "events": report.events,
        "chained": report.chained,
        "before_chain": report.before_chain,
        "broken": [{"kind": b.kind, "version": b.version, "position": b.position} for b in report.broken],
    }


def range_jsonl(
    app: ChatAssistApp, workspace_id: UUID, pages: Iterable[Sequence[UUID]], *, personal: bool
) -> Iterator[bytes]:
    """The conversations' lines, a chunk per batch of events (blocks)."""
    for page in pages:
        for cid in page:
            first = started(app, workspace_id, cid)
            head = {
                "record": "conversation",
                "conversation_id": str(cid),
                "channel": first.channel,
                "started_at": first.timestamp,
                "chain": _chain_json(chain_report(app, cid)),
            }
            prefix = b'{"record":"event","conversation_id":"' + str(cid).encode() + b'",'
            batch = [msgspec.json.encode(head) + b"\n"]
            for e in all_events(app, workspace_id, cid, personal=personal):
                batch.append(prefix + event_line(e)[1:])
                if len(batch) == BATCH:
                    yield b"".join(batch)
                    batch = []
            if batch:
                yield b"".join(batch)


def range_markdown(
    app: ChatAssistApp,
    workspace_id: UUID,
    pages: Iterable[Sequence[UUID]],
    trail_of: Callable[[UUID], Iterable[Sequence[TrailEntry]]],
    span: tuple[datetime, datetime],
    *,
    personal: bool,
) -> Iterator[str]:
    """A heading, each conversation's transcript, then how many conversations and broken chains (blocks)."""
    since, until = (t.isoformat() for t in span)
    yield (
        f"# Conversations of workspace {workspace_id}\n\n- Activity in [{since}, {until})\n"
        f"- {'With personal fields' if personal else 'Personal fields redacted'}\n"
    )
    count, broken = 0, []
    for page in pages:
        for cid in page:
            count += 1
            yield "\n---\n\n"
            yield from markdown(app, workspace_id, cid, trail_of(cid), personal=personal)
            if not chain_report(app, cid).ok:
                broken.append(cid)
    verdict = "every hash chain verifies" if not broken else f"{len(broken)} BROKEN: " + ", ".join(map(str, broken))
    yield f"\n---\n\n## Summary\n\n- {count} conversations exported\n- Tamper evidence: {verdict}\n"
