"""The chat monitor (Agents and Admins): the live list under four tabs, and one conversation with its actions.

``/app/monitor`` reads the monitor view (read_api/get_monitor) through the same ``AsyncReader`` as
``GET /api/monitor``; ``/app/conversations/{id}`` reads the agent's view from the conversation's events, like
``GET /api/agent/conversations/{id}``. Both are live through ``/api/monitor/live`` (htmx's SSE extension fetches
the changing part again). Every action on a chat is a call of the agent API from the browser
(web/static/monitor.js): the page only shows what the commands decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import QueryParameter

from commands.chat_turn.service import ChatService
from domain.assessment import DEFAULT_TOPICS
from read_api._reads import AsyncReader, combined
from read_api.get_monitor.query import MonitorPage, MonitorRow, monitor_filter, plan_monitor
from web.guards import GUARDS
from web.pages import monitor_labels as labels
from web.pages._render import page, percent
from web.pages.figures import Kpi
from web.pages.monitor_chat import low_confidence_threshold, name_of, read_chat
from web.pages.shell import shell_of

VIEWS = (("active", "Active chats"), ("queue", "Queue"), ("escalations", "Escalations"), ("closed", "Closed"))
LIST_LIMIT = 50  # rows shown under a tab
CARD_LIMIT = 200  # open chats the cards are computed over
From = Annotated[str | None, QueryParameter(name="from")]


@dataclass(frozen=True)
class Row:
    """One conversation of the list, worded."""

    id: UUID
    priority: str | None
    visitor: str
    topic: str
    confidence: str
    turns: int
    wait: str | None
    reason: str | None
    reason_full: str | None
    state: tuple[str, str]
    with_whom: str | None
    preview: str | None
    at: datetime


def _row(r: MonitorRow, as_of: datetime, names: dict[str, str | None]) -> Row:
    with_whom = names.get(r.assignee) if r.assignee else None
    if r.queued_at is not None:
        wait = f"Waiting {labels.waited(r.queued_at, as_of)}"
    elif r.escalated_at is not None and r.claimed_at is not None and r.claimed_at >= r.escalated_at:
        wait = f"Waited {labels.waited(r.escalated_at, r.claimed_at)}"
    else:
        wait = None
    return Row(
        id=r.id,
        priority=labels.priority_label(r.priority),
        visitor=labels.visitor_label(r.visitor_id),
        topic=r.topic or "Topic not yet known",
        confidence=percent(r.confidence, 0) if r.confidence is not None else "no AI answer",
        turns=r.turns,
        wait=wait,
        reason=labels.short_reason(r.rule, r.reason),
        reason_full=r.reason,
        state=(f"With {with_whom.split()[0]}", "agent") if with_whom else labels.state_chip(r.state),
        with_whom=with_whom,
        preview=r.last_message,
        at=r.last_activity_at,
    )


def _cards(active: MonitorPage, queue: MonitorPage, escalations: MonitorPage, threshold: float) -> list[Kpi]:
    """AI confidence over the open chats, the longest escalation wait, the escalations open."""
    scores = [r.confidence for r in active.items if r.confidence is not None]
    mean = sum(scores) / len(scores) if scores else None
    below = sum(1 for s in scores if s < threshold)
    limit = percent(threshold, 0)
    if mean is None:
        confidence_note, tone = "No AI answer in the open chats yet", "neutral"
    elif mean < threshold:
        confidence_note, tone = f"▼ Below {limit} threshold", "bad"
    else:
        confidence_note = (
            f"{below} of {len(scores)} open chats below the {limit} threshold"
            if below
            else (f"Every open chat above the {limit} threshold")
        )
        tone = "bad" if below else "good"
    waits = [queue.as_of - r.queued_at for r in queue.items if r.queued_at is not None]
    longest = max(waits) if waits else None
    wait = labels.waited(queue.as_of - longest, queue.as_of) if longest is not None else "—"
    waiting = len(queue.items)
    claimed = sum(1 for r in escalations.items if r.state in ("assigned", "agent"))
    return [
        Kpi("confidence", "AI Confidence Score", percent(mean, 0), None, "flat", tone, "", confidence_note),
        Kpi("wait", "Escalation Wait Time", wait, None, "flat", "bad" if waiting else "neutral", "",
            f"longest of {waiting} waiting in the queue" if waiting else "Nobody is waiting"),
        Kpi("escalations", "Escalations", str(len(escalations.items)) + ("+" if escalations.next_cursor else ""),
            None, "flat", "neutral", "", f"{waiting} waiting · {claimed} with an agent"),
    ]  # fmt: skip


def _count(p: MonitorPage, shown: int | None = None) -> str:
    n = len(p.items) if shown is None else shown
    return f"{n}+" if p.next_cursor else str(n)


@get("/app/monitor", guards=[GUARDS["monitor.read"]], include_in_schema=False, name="monitor")
async def monitor(
    request: Request[Any, Any, Any], reader: AsyncReader, chat: ChatService, view: str = "active"
) -> Response[str]:
    """Live conversation monitor: the tabs, the cards, the rows of one view (its changing part for htmx)."""
    shell = await shell_of(request, "monitor")
    if view not in dict(VIEWS):
        view = "active"
    ws = shell.member.workspace_id
    parts = {
        "active": plan_monitor(ws, monitor_filter("active", limit=CARD_LIMIT)),
        "queue": plan_monitor(ws, monitor_filter("queue", limit=CARD_LIMIT)),
        "escalations": plan_monitor(ws, monitor_filter("escalations", limit=LIST_LIMIT)),
    }
    if view == "closed":
        parts["closed"] = plan_monitor(ws, monitor_filter("closed", limit=LIST_LIMIT))
    got: dict[str, MonitorPage] = await reader.run(combined(parts))
    shown = got[view].items[:LIST_LIMIT]
    assignees = sorted({r.assignee for r in shown if r.assignee})

    def names_and_threshold() -> tuple[dict[str, str | None], float]:
        return {a: name_of(chat.app, a) for a in assignees}, low_confidence_threshold(chat.app, ws)

    names, threshold = await anyio.to_thread.run_sync(names_and_threshold)
    counts = {
        "active": _count(got["active"]),
        "queue": _count(got["queue"]),
        "escalations": _count(got["escalations"]),
        "closed": None,
    }
    context = {
        "shell": shell,
        "views": VIEWS,
        "view": view,
        "counts": counts,
        "rows": [_row(r, got[view].as_of, names) for r in shown],
        "more": len(got[view].items) > LIST_LIMIT or got[view].next_cursor is not None,
        "cards": _cards(got["active"], got["queue"], got["escalations"], threshold),
    }
    return page(request, "pages/monitor.html.j2", "partials/monitor_body.html.j2", **context)


@get(
    "/app/conversations/{conversation_id:uuid}",
    guards=[GUARDS["chat.monitor"]],
    include_in_schema=False,
    name="transcript",
)
async def conversation(
    request: Request[Any, Any, Any], conversation_id: UUID, chat: ChatService, from_: From = None
) -> Response[str]:
    """One chat: the whole transcript, the handoff summary, the escalation's rule and evidence, the cards, and the
    actions the member's role and the chat's state allow (live)."""
    shell = await shell_of(request, "activity" if from_ == "activity" else "monitor")
    me, ws = shell.member.account_id, shell.member.workspace_id
    c = await anyio.to_thread.run_sync(read_chat, chat.app, ws, conversation_id, me)
    back = from_ if from_ in dict(VIEWS) else ("activity" if from_ == "activity" else None)
    context = {
        "shell": shell,
        "c": c,
        "back": back,
        "back_label": dict(VIEWS).get(back or "", "Activity" if back == "activity" else "Monitor"),
        "topics": [name for name, _ in DEFAULT_TOPICS],
        "can_handle": shell.can("conversations.handle"),
        "api": f"/api/agent/conversations/{conversation_id}",
    }
    return page(request, "pages/conversation.html.j2", "partials/conversation_body.html.j2", **context)


MONITOR_SCREENS = [monitor, conversation]
