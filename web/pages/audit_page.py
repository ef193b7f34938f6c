"""The replay page (issue 17 item 8): an auditor or admin steps through a conversation as it happened.

``/app/audit`` opens a conversation by id (and lists the latest ones); ``/app/audit/conversations/{id}?v=N`` shows the
timeline of its events (times and actors), the state at version N (a slider over the versions), its model calls and
"what the AI was told" for one of them with its verdict, the check of its hash chain, and the export buttons. Every
read goes through the same commands as ``/api/audit/conversations/{id}/...`` (from the events, by the aggregate),
under the same permission (``audit.replay``); personal fields follow ``audit.personal``; each view of the page is
itself an ``audit.conversation_replayed`` row (``details.via``: ``dashboard``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import QueryParameter

from commands.chat_turn.service import ChatService
from commands.record_audit_access import cmd as record
from commands.replay_conversation import events as replay_events
from commands.replay_conversation import request as replay_request
from commands.replay_conversation import state as replay_state
from commands.replay_conversation.events import ReplayedEvent
from commands.replay_conversation.range_export import chain_report
from commands.replay_conversation.timeline import summary
from read_api._analytics import AnalyticsSource
from read_api.recent_conversations import recent_conversation_ids
from web.guards import GUARDS
from web.pages._render import page
from web.pages.shell import shell_of

RECENT = 20
VERDICTS = {
    "match": ("Rebuilt request matches the recorded hash", "good"),
    "mismatch": ("MISMATCH: the rebuilt request differs from what was recorded", "bad"),
    "not_recorded": ("Not recorded: this call predates the request hash (shown, unproven)", "warn"),
}
ACTORS = {"visitor": "Visitor", "ai": "AI", "rules": "Rules", "agent": "Agent", "system": "System"}


@dataclass(frozen=True)
class Told:
    """What the AI was told for one call: the verdict, the system prompt, the messages, the whole body."""

    call_id: str
    version: int
    verdict: tuple[str, str]
    recorded: str | None
    rebuilt: str
    system: str
    messages: list[dict[str, str]]
    body: str
    history_turns: int
    workspace_version: int


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content, ensure_ascii=False)


def told(rebuilt: replay_request.RebuiltRequest) -> Told:
    """The rebuilt request, as a reader wants it: Anthropic's ``system`` or OpenAI's system message apart."""
    body = rebuilt.body
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    system = _text(body["system"]) if "system" in body else ""
    system += "\n".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    chat = [
        {"role": str(m.get("role")), "text": _text(m.get("content"))}
        for m in messages
        if m.get("role") not in ("system", "developer")
    ]
    return Told(
        rebuilt.call_id,
        rebuilt.version,
        VERDICTS[rebuilt.verdict],
        rebuilt.recorded_sha256,
        rebuilt.rebuilt_sha256,
        system,
        chat,
        json.dumps(body, indent=2, ensure_ascii=False),
        rebuilt.history_turns,
        rebuilt.workspace_version,
    )


def _actor(e: ReplayedEvent) -> tuple[str, str]:
    kind = str(e.actor.get("kind") or "system")
    return ACTORS.get(kind, kind.capitalize()), str(e.actor.get("id") or "")


@get("/app/audit", guards=[GUARDS["audit.replay"]], include_in_schema=False, name="audit_home")
async def audit_home(
    request: Request[Any, Any, Any], analytics: AnalyticsSource, conversation: str | None = None
) -> Response[str]:
    """Open a conversation by id; the latest conversations of the workspace to pick from."""
    shell = await shell_of(request, "audit")
    error = None
    if conversation is not None:
        try:
            target = UUID(conversation.strip())
        except ValueError:
            error = f"{conversation[:60]!r} is not a conversation id (a UUID such as 5f0c1b2e-…)."
        else:
            return Response("", status_code=303, headers={"Location": f"/app/audit/conversations/{target}"})
    ws = shell.member.workspace_id
    recent = await anyio.to_thread.run_sync(recent_conversation_ids, analytics, ws, RECENT)
    return page(request, "pages/audit.html.j2", shell=shell, recent=recent, error=error, value=conversation or "")


@get(
    "/app/audit/conversations/{conversation_id:uuid}",
    guards=[GUARDS["audit.replay"]],
    include_in_schema=False,
    name="replay",
)
async def replay(
    request: Request[Any, Any, Any],
    conversation_id: UUID,
    chat: ChatService,
    v: Annotated[str | None, QueryParameter(description="the version shown")] = None,
    call: str | None = None,
) -> Response[str]:
    """The timeline, the state at version ``v`` (default: the last), the model calls and what the AI was told for
    ``call`` (default: the last call at or before ``v``), the chain's check, the export buttons."""
    shell = await shell_of(request, "audit")
    member = shell.member
    shown = member.can("audit.personal")
    at = int(v) if v and v.isdigit() and int(v) >= 1 else None

    def read() -> dict[str, Any]:
        app, ws = chat.app, member.workspace_id
        first = replay_events.started(app, ws, conversation_id)
        events = list(replay_events.all_events(app, ws, conversation_id, personal=shown))
        version = min(at or len(events), len(events))
        found = replay_state.state_at(app, ws, conversation_id, at_version=version, personal=shown)
        calls = [e for e in events if e.type == "ModelCallMade"]
        chosen = next((c for c in calls if c.payload["call_id"] == call), None) or next(
            (c for c in reversed(calls) if c.version <= version), None
        )
        rebuilt = (
            told(replay_request.rebuild(app, ws, conversation_id, chosen.payload["call_id"], personal=shown))
            if chosen
            else None
        )
        details = {"via": "dashboard", "version": version, "call_id": chosen.payload["call_id"] if chosen else None}
        details["personal"] = shown
        command = record.RecordAuditAccess(ws, member.account_id, "conversation.replayed", conversation_id, details)
        record.execute(app, command)
        return {
            "first": first,
            "events": events,
            "version": version,
            "found": found,
            "calls": calls,
            "told": rebuilt,
            "chain": chain_report(app, conversation_id),
        }

    got = await anyio.to_thread.run_sync(read)
    rows = [(e, summary(e), *_actor(e)) for e in got["events"]]
    api = f"/api/audit/conversations/{conversation_id}"
    return page(
        request,
        "pages/replay.html.j2",
        shell=shell,
        cid=conversation_id,
        rows=rows,
        personal=shown,
        api=api,
        **got,
    )


AUDIT_SCREENS = [audit_home, replay]
