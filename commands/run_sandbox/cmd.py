"""RunSandbox: which prompt content a sandbox run answers with, checked before anything is written.

A draft runs with its own content (numbered as the live version it was started from); a version with its
content. The turns themselves run in ``ChatService.sandbox`` (the production routing, orchestrator, prompt
assembly and escalation engine) and are recorded in a ``SandboxRun`` stream of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands._common import load
from commands._prompt_config import PERMISSION, LivePrompt, read_config
from commands.application import ChatAssistApp
from domain.errors import InvalidInput
from domain.sandbox import check_messages
from domain.workspace import Workspace


@dataclass(frozen=True)
class RunSandbox:
    """Exactly one of ``draft_id`` and ``version``; visitor messages oldest first."""

    workspace_id: UUID
    by: UUID
    draft_id: str | None
    version: int | None
    messages: list[str]


@dataclass(frozen=True)
class SandboxSource:
    """The workspace, the content to run (as a LivePrompt), what it came from, and the checked messages."""

    workspace: Workspace
    prompt: LivePrompt
    source: dict[str, Any]
    messages: list[str]


def resolve(app: ChatAssistApp, cmd: RunSandbox) -> SandboxSource:
    """Permission, source and messages checked (Forbidden, NotFound draft_not_found / version_not_found,
    InvalidInput); reads only."""
    workspace = load(app, cmd.workspace_id, Workspace, "workspace", read_only=True)
    workspace.check_permission(cmd.by, PERMISSION)
    if (cmd.draft_id is None) == (cmd.version is None):
        raise InvalidInput("Send either draft_id or version (not both).", code="invalid_source")
    messages = check_messages(cmd.messages)
    config = read_config(app, cmd.workspace_id)
    if cmd.draft_id is not None:
        draft = config.draft(cmd.draft_id)
        source: dict[str, Any] = {"draft_id": draft.draft_id, "based_on_version": draft.based_on_version}
        prompt = LivePrompt(draft.based_on_version, draft.content)
    else:
        assert cmd.version is not None
        found = config.get_version(cmd.version)
        source = {"version": found.version}
        prompt = LivePrompt(found.version, found.content)
    return SandboxSource(workspace, prompt, source, messages)


MAX_REPLAY = 20
MAX_REPLAY_MESSAGES = 20
RANK = {"none": 0, "offer": 1, "escalate": 2}


@dataclass(frozen=True)
class Replay:
    """Exactly one of ``draft_id`` and ``version``; ``last``: how many of the workspace's latest conversations."""

    workspace_id: UUID
    by: UUID
    draft_id: str | None
    version: int | None
    last: int


def check_replay(app: ChatAssistApp, cmd: Replay) -> SandboxSource:
    """As ``resolve``, and ``last`` from 1 to MAX_REPLAY (InvalidInput ``out_of_range``); reads only."""
    if not 1 <= cmd.last <= MAX_REPLAY:
        raise InvalidInput(f"last must be from 1 to {MAX_REPLAY} conversations.", code="out_of_range")
    return resolve(app, RunSandbox(cmd.workspace_id, cmd.by, cmd.draft_id, cmd.version, ["replay"]))


def production_turns(app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID) -> list[dict[str, Any]]:
    """The conversation's visitor messages in order (at most MAX_REPLAY_MESSAGES), each with what production
    answered: ``answer``, ``decision`` (escalate, offer or none), ``rule`` and ``prompt_version``; read from its
    events in the store. Empty for another workspace's conversation."""
    turns: list[dict[str, Any]] = []
    by_message: dict[str, dict[str, Any]] = {}
    for e in app.events.get(conversation_id):
        name = type(e).__name__
        if name == "Started" and e.workspace_id != workspace_id:  # type: ignore[attr-defined]
            return []
        if name == "UserMessageReceived":
            turn = {"text": e.personal["text"], "answer": None, "decision": "none", "rule": None}  # type: ignore[attr-defined]
            turn["prompt_version"] = None
            by_message[e.message_id] = turn  # type: ignore[attr-defined]
            turns.append(turn)
        elif name == "AssistantReplied" and e.reply_to in by_message:  # type: ignore[attr-defined]
            turn = by_message[e.reply_to]  # type: ignore[attr-defined]
            turn["answer"], turn["prompt_version"] = e.personal["text"], e.prompt_version  # type: ignore[attr-defined]
        elif name in ("Escalated", "EscalationOffered") and e.reply_to in by_message:  # type: ignore[attr-defined]
            turn = by_message[e.reply_to]  # type: ignore[attr-defined]
            turn["decision"] = "escalate" if name == "Escalated" else "offer"
            turn["rule"] = e.rule  # type: ignore[attr-defined]
    return turns[:MAX_REPLAY_MESSAGES]


def strongest(decisions: list[str]) -> str:
    """A conversation's decision: escalate if any turn escalated, else offer if any offered, else none."""
    return max(decisions, key=RANK.__getitem__, default="none")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """How many conversations' decisions changed, and in which direction (``none→escalate``: count)."""
    directions: dict[str, int] = {}
    for row in rows:
        before, after = row["production"]["decision"], row["draft"]["decision"]
        if before != after:
            key = f"{before}→{after}"
            directions[key] = directions.get(key, 0) + 1
    changed = sum(directions.values())
    stricter = sum(n for k, n in directions.items() if RANK[k.split("→")[1]] > RANK[k.split("→")[0]])
    return {
        "conversations": len(rows),
        "changed": changed,
        "unchanged": len(rows) - changed,
        "stricter": stricter,
        "looser": changed - stricter,
        "directions": directions,
    }
