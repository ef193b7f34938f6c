"""CreateWorkspace: a tenant with its public widget key and starter knowledge."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from commands.application import ChatAssistApp
from commands.create_workspace.defaults import DEFAULT_EXAMPLES, DEFAULT_KNOWLEDGE
from domain.errors import InvalidInput
from domain.workspace import WidgetKeyIndex, Workspace, WorkspaceSettings


@dataclass(frozen=True)
class CreateWorkspace:
    """Create a workspace; unset settings take their documented defaults."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    knowledge: list[dict[str, Any]] | None = None
    examples: list[dict[str, str]] | None = None


@dataclass(frozen=True)
class WorkspaceCreated:
    """What the caller needs to embed the widget."""

    workspace_id: UUID
    widget_key: str


def new_widget_key() -> str:
    """A public, unguessable widget key."""
    return "wk_" + secrets.token_urlsafe(24)


def handle(cmd: CreateWorkspace, widget_key: str) -> tuple[Workspace, WidgetKeyIndex]:
    """Decide: validate and create the workspace and its key index."""
    name = cmd.name.strip() if isinstance(cmd.name, str) else ""
    if not name or len(name) > 120:
        raise InvalidInput("A workspace needs a name of 1 to 120 characters.", code="invalid_workspace_name")
    settings = WorkspaceSettings.from_dict(cmd.settings).to_dict()
    knowledge = DEFAULT_KNOWLEDGE if cmd.knowledge is None else cmd.knowledge
    examples = DEFAULT_EXAMPLES if cmd.examples is None else cmd.examples
    workspace = Workspace(name, widget_key, settings, list(knowledge), list(examples))
    return workspace, WidgetKeyIndex(widget_key, workspace.id)


def execute(app: ChatAssistApp, cmd: CreateWorkspace) -> WorkspaceCreated:
    """Create and save both aggregates atomically."""
    key = new_widget_key()
    workspace, index = handle(cmd, key)
    app.save(workspace, index)
    return WorkspaceCreated(workspace.id, key)
