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
