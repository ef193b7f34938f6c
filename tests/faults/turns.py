"""Chat turns as a visitor sees them, and what the event store says of them afterwards."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from chatassist.bootstrap import eventsourcing_env
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from tests.support.visitors import remember, token_of

CLIENT_TIMEOUT = httpx.Timeout(90.0, connect=15.0)  # generous: a hang is what we look for, not slowness
OUTCOMES = ("AssistantReplied", "TurnFailed")
STORED_FAILURES = ("providers_unavailable", "budget_exhausted")  # error events whose failure is in the store


@dataclass
class Outcome:
    """What the visitor got: ``done`` (acknowledged), ``error`` (an error event or an error status), ``cut`` (the
    connection broke or the stream ended without an outcome) or ``hang`` (nothing within the client timeout)."""

    kind: str
    status: int | None = None
    code: str | None = None
    message: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None  # the visitor's message (from `start`)
    reply_id: str | None = None  # the reply (from `done`; None when a person handles the chat)
    done: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] = field(default_factory=dict)
    deltas: int = 0
    restarts: int = 0
    seconds: float = 0.0

    @property
    def acknowledged(self) -> bool:
        """The visitor got `done`, or an `error` event of a failure the service stored (the visitor told that their
        message is saved and a person will reply): either way the turn must be in the store. An `error` of another
        code (``answer_interrupted``) promises nothing: the outcome could not be written."""
        return self.kind == "done" or (self.kind == "error" and self.status == 200 and self.code in STORED_FAILURES)


def chat(
    base: str,
    key: str,
    text: str,
    *,
    conversation_id: str | None = None,
    user: str = "visitor-1",
    on_delta: Any = None,
) -> Outcome:
    """POST /api/chat as the widget does, read the stream to its end, and classify what came back."""
    began = time.monotonic()
    body = {"message": text, "conversation_id": conversation_id, "user": {"id": user}}
    headers = {"X-Widget-Key": key, "Accept": "text/event-stream"}
    if conversation_id is not None:  # a follow-up: the widget sends the conversation's visitor token (issue 23.3)
        headers["X-Visitor-Token"] = token_of(conversation_id)
    out = Outcome("cut", conversation_id=conversation_id)
    try:
        with httpx.stream("POST", base + "/api/chat", json=body, headers=headers, timeout=CLIENT_TIMEOUT) as response:
            out.status = response.status_code
            if response.status_code != 200:
                response.read()
                try:
                    payload = response.json()
                except ValueError:
                    payload = {}
                out.kind, out.error = "error", payload if isinstance(payload, dict) else {}
                out.code, out.message = out.error.get("code"), out.error.get("message")
                return out
            name = "message"
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data = json.loads(line[5:].strip())
                    if name == "start":
                        out.conversation_id, out.message_id = data["conversation_id"], data["message_id"]
                        remember(data["conversation_id"], data.get("visitor_token"))
                    elif name == "delta":
                        out.deltas += 1
                        if on_delta is not None:
                            on_delta(out)
                    elif name == "restart":
                        out.restarts += 1
                    elif name == "done":
                        out.kind, out.done, out.reply_id = "done", data, data.get("message_id")
                    elif name == "error":
                        out.kind, out.error = "error", data
                        out.code, out.message = data.get("code"), data.get("message")
    except httpx.TimeoutException:
        out.kind = "hang"
    except httpx.TransportError:
        out.kind = "cut" if out.kind not in ("done", "error") else out.kind
    finally:
        out.seconds = time.monotonic() - began
    return out


def at_once(calls: Iterable[Any], threads: int = 16) -> list[Outcome]:
    """Run ``calls`` (zero-argument callables) concurrently; their outcomes in order."""
    calls = list(calls)
    with ThreadPoolExecutor(max_workers=min(threads, len(calls)) or 1) as pool:
        return list(pool.map(lambda call: call(), calls))


def tally(outcomes: list[Outcome]) -> dict[str, int]:
    """How many outcomes of each kind."""
    counts: dict[str, int] = defaultdict(int)
    for o in outcomes:
        counts[o.kind] += 1
    return dict(counts)


class Store:
    """The event store of the stack, read with a one-connection application (opened per check, so a restarted
    server is no concern)."""

    def __init__(self, database_url: str) -> None:
        env = {**eventsourcing_env(Settings(), database_url), "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"}
        self.env = {**env, "CREATE_TABLE": "n"}

    def conversations(self) -> dict[uuid.UUID, list[Any]]:
        """Every conversation's events, in order (everything else in the store left out)."""
        app = ChatAssistApp(env=self.env)
        try:
            found: dict[uuid.UUID, list[Any]] = defaultdict(list)
            start = 1
            while True:
                page = app.recorder.select_notifications(start, 1000, inclusive_of_start=True)
                for notification in page:
                    if ".conversation:Conversation." in notification.topic:
                        event = app.mapper.to_domain_event(notification)
                        found[event.originator_id].append(event)
                if len(page) < 1000:
                    return dict(found)
                start = page[-1].id + 1
        finally:
            app.close()

    def lost(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Acknowledged turns not in the store: the visitor's message and the reply or the failure the visitor was
        given (or, when a person handles the chat, the message)."""
        stored = self.conversations()
        missing = []
        for o in outcomes:
            if not o.acknowledged:
                continue
            events = stored.get(uuid.UUID(str(o.conversation_id)), [])
            received = any(_name(e) == "UserMessageReceived" and e.message_id == o.message_id for e in events)
            if o.kind == "error":  # the failure the visitor was told of
                kept = any(_name(e) == "TurnFailed" and e.reply_to == o.message_id and e.code == o.code for e in events)
            else:  # the reply the visitor was given (none when a person handles the chat)
                kept = o.reply_id is None or any(
                    _name(e) == "AssistantReplied" and e.message_id == o.reply_id and e.reply_to == o.message_id
                    for e in events
                )
            if not (received and kept):
                missing.append(o)
        return missing

    def half_written(self) -> list[str]:
        """Every turn in the store that is only partly recorded: an attempt, an escalation or an outcome without its
        visitor message, an attempt or an escalation without the turn's outcome, or two outcomes of one message."""
        problems = []
        for cid, events in self.conversations().items():
            received: set[str] = set()
            outcomes: dict[str, int] = defaultdict(int)
            parts: set[str] = set()
            for e in events:
                name = _name(e)
                if name == "UserMessageReceived":
                    received.add(e.message_id)
                elif name in ("ModelCallMade", "Escalated", *OUTCOMES):
                    if e.reply_to not in received:
                        problems.append(f"{cid}: {name} for {e.reply_to}, a message not received before it")
                    if name in OUTCOMES:
                        outcomes[e.reply_to] += 1
                    else:
                        parts.add(e.reply_to)
            problems += [f"{cid}: {n} outcomes for {m}" for m, n in outcomes.items() if n > 1]
            problems += [f"{cid}: attempts or escalation of {m} without its outcome" for m in parts - set(outcomes)]
        return problems

    def unanswered(self, outcomes: list[Outcome]) -> int:
        """Turns whose visitor message is stored with no outcome (the process died or the database went away before
        the reply was written: the transcript shows an unanswered message; ADR 0002)."""
        stored = self.conversations()
        count = 0
        for o in outcomes:
            if o.conversation_id is None or o.message_id is None or (o.kind == "done" and o.reply_id is None):
                continue  # never stored, or a person handles the chat (no reply by design)
            events = stored.get(uuid.UUID(o.conversation_id), [])
            if not any(_name(e) in OUTCOMES and e.reply_to == o.message_id for e in events):
                count += any(_name(e) == "UserMessageReceived" and e.message_id == o.message_id for e in events)
        return count


def _name(event: Any) -> str:
    return type(event).__name__
