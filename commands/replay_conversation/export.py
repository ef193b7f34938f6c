"""A conversation exported for an auditor: its events as JSON Lines, or a readable Markdown transcript with the
model calls' request checks, the final state and the audit trail. Both are generators of chunks read a batch of
events at a time, so an export is streamed and never holds the whole stream as text."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from commands._chain import verify_stream
from commands.application import ChatAssistApp
from commands.replay_conversation.events import ReplayedEvent, all_events, started
from commands.replay_conversation.request import rebuild
from commands.replay_conversation.state import state_at
from commands.replay_conversation.timeline import summary
from domain.errors import InvalidInput

FORMATS = {"jsonl": "application/x-ndjson", "md": "text/markdown; charset=utf-8", "pdf": "application/pdf"}
STREAMED = ("jsonl", "md")  # a range export's formats (a PDF is one conversation's, bounded: pdf.py)


class TrailEntry(Protocol):
    """A row of the audit log (read_api/get_conversation_trail)."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor_id(self) -> UUID | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def details(self) -> dict[str, Any]: ...


def check_format(format_: str, formats: Sequence[str] = tuple(FORMATS)) -> str:
    """422 unknown_format unless one of ``formats`` (a conversation's: jsonl, md or pdf; a range's: jsonl or md)."""
    if format_ not in formats:
        raise InvalidInput(
            f"format must be {', '.join(formats[:-1])} or {formats[-1]}, got {format_[:40]!r}.", code="unknown_format"
        )
    return format_


def event_line(e: ReplayedEvent) -> bytes:
    """One event as a JSON object and a newline, encoded as the API encodes it (GET .../events)."""
    return msgspec.json.encode(e) + b"\n"


def jsonl(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, *, personal: bool) -> Iterator[bytes]:
    """Every event, one line each, a chunk per batch. Blocks."""
    batch: list[bytes] = []
    for e in all_events(app, workspace_id, conversation_id, personal=personal):
        batch.append(event_line(e))
        if len(batch) == 500:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


def _cell(value: object) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def chain_result(app: ChatAssistApp, conversation_id: UUID) -> str:
    """The hash chain of the conversation's stream, checked (commands/_chain.py), in a sentence."""
    recorder: Any = app.recorder
    with recorder.datastore.get_connection() as conn:
        report = verify_stream(conn, recorder.events_table_name, conversation_id)
    before = f"; {report.before_chain} stored before the chain" if report.before_chain else ""
    if report.ok:
        return f"the hash chain of its {report.events} events verifies ({report.chained} chained{before})"
    b = report.broken[0]
    return f"BROKEN: {b.kind} at version {b.version} (position {b.position}){before}"


def markdown(
    app: ChatAssistApp,
    workspace_id: UUID,
    conversation_id: UUID,
    trail: Iterable[Sequence[TrailEntry]],
    *,
    personal: bool,
) -> Iterator[str]:
    """The transcript as Markdown sections: summary, timeline, model calls and what the AI was told (each request
    rebuilt and checked), the final state, the audit trail. Blocks."""
    first = started(app, workspace_id, conversation_id)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    yield (
        f"# Conversation {conversation_id}\n\n- Workspace: {workspace_id}\n- Channel: {first.channel}\n"
        f"- Started: {first.timestamp.isoformat()}\n- Exported: {now}, "
        f"{'with personal fields' if personal else 'personal fields redacted'}\n"
        f"- Tamper evidence: {chain_result(app, conversation_id)}\n\n"
        "## Timeline\n\n| v | time (UTC) | actor | what happened |\n|---|---|---|---|\n"
    )
    calls: list[ReplayedEvent] = []
    rows: list[str] = []
    for e in all_events(app, workspace_id, conversation_id, personal=personal):
        actor = f"{e.actor['kind']}" + (f":{e.actor['id']}" if e.actor.get("id") else "")
        rows.append(f"| {e.version} | {e.time.isoformat()} | {_cell(actor)} | {_cell(summary(e))} |\n")
        if e.type == "ModelCallMade":
            calls.append(e)
        if len(rows) == 500:
            yield "".join(rows)
            rows = []
    yield "".join(rows)
    yield (
        "\n## Model calls and what the AI was told\n\n"
        "| v | call | provider / model | prompt | attempt | outcome | tokens in / out / cached | latency ms | cost USD"
        " | request check |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    for c in calls:
        p = c.payload
        checked = rebuild(app, workspace_id, conversation_id, p["call_id"], personal=personal)
        verdict = {"match": "rebuilt, hash matches", "mismatch": "MISMATCH", "not_recorded": "hash not recorded"}
        yield (
            f"| {c.version} | {_cell(p['call_id'])} | {_cell(p['provider'])} / {_cell(p['model'])} | "
            f"v{p['prompt_version']} | {p['attempt']} | {_cell(p['outcome'])} {_cell(p.get('error_kind'))} | "
            f"{p['input_tokens']} / {p['output_tokens']} / {p['cache_read_tokens']} | {p['latency_ms']} | "
            f"{_cell(p['cost_usd'])} | {verdict[checked.verdict]} (`{checked.rebuilt_sha256[:16]}…`) |\n"
        )
    final = state_at(app, workspace_id, conversation_id, personal=personal)
    state = json.dumps(final.state, indent=2, ensure_ascii=False, default=str)
    yield f"\n## State after version {final.version}\n\n```json\n{state}\n```\n\n## Audit trail\n\n"
    yield "| time (UTC) | actor | kind | details |\n|---|---|---|---|\n"
    for batch in trail:
        yield "".join(
            f"| {r.occurred_at.isoformat()} | {_cell(r.actor_id)} | {_cell(r.kind)} | "
            f"{_cell(json.dumps(r.details, sort_keys=True, default=str))} |\n"
            for r in batch
        )
