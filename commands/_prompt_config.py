"""Shared by the prompt commands and the chat turn: the baseline content of a workspace, model routing checks,
load-or-create-decide-save of a workspace's PromptConfig, and the live version a chat turn uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands._common import load
from commands._lazy import get_or_none, read_or_none, save_with_retries
from commands.ai.models import provider_for
from commands.application import ChatAssistApp
from domain.errors import InvalidInput
from domain.prompt_config import PromptConfig, prompt_config_id
from domain.prompt_content import DEFAULT_PERSONA, PromptContent, check_examples
from domain.workspace import Workspace

R = TypeVar("R")
PERMISSION = "prompts.edit"


@dataclass(frozen=True)
class LivePrompt:
    """The published version a chat turn answers with."""

    version: int
    content: PromptContent


def baseline_content(workspace: Workspace) -> PromptContent:
    """What the workspace used before versioning: its system prompt, examples and chat models, default rules."""
    examples = []
    for example in workspace.examples:
        try:
            examples += check_examples([{"user": example.get("user"), "assistant": example.get("assistant")}])
        except InvalidInput:
            continue  # an old example missing a side was never useful to the model either
    settings = workspace.settings
    persona = {
        **DEFAULT_PERSONA,
        "primary_model": settings.primary_model,
        "fallback_model": settings.fallback_model,
        "max_response_tokens": settings.max_response_tokens,
    }
    numbered = [{**e, "id": f"ex-{n}"} for n, e in enumerate(examples, start=1)]
    return PromptContent(settings.system_prompt, numbered, persona=persona)


def check_models(content: PromptContent) -> None:
    """InvalidInput ``unknown_model`` when a persona model is not one a provider serves."""
    for name in ("primary_model", "fallback_model"):
        model = content.persona[name]
        if provider_for(model) is None:
            raise InvalidInput(
                f"persona.{name}: {model[:100]!r} is not a model we can route; use a claude-… or gpt-… model name "
                "(or offline-retrieval).",
                code="unknown_model",
            )


def read_config(app: ChatAssistApp, workspace_id: UUID) -> PromptConfig:
    """The workspace's PromptConfig for reading; when never saved, an unsaved one holding the baseline."""
    found = read_or_none(app, prompt_config_id(workspace_id), PromptConfig)
    if found is not None:
        return found
    workspace = load(app, workspace_id, Workspace, "workspace", read_only=True)
    return PromptConfig(workspace_id, workspace.prompt_version, baseline_content(workspace).to_dict())


def change_config(app: ChatAssistApp, workspace_id: UUID, by: UUID, decide: Callable[[PromptConfig], R]) -> R:
    """Check ``by`` may edit prompts, load (or create, with the baseline) the PromptConfig, decide, save; a
    concurrent write is retried from a fresh load. A refused decision saves nothing."""
    workspace = load(app, workspace_id, Workspace, "workspace", read_only=True)
    workspace.check_permission(by, PERMISSION)
    result: list[R] = []

    def attempt() -> list[Aggregate]:
        config = get_or_none(app, prompt_config_id(workspace_id), PromptConfig)
        if config is None:
            config = PromptConfig(workspace_id, workspace.prompt_version, baseline_content(workspace).to_dict())
        result[:] = [decide(config)]
        return [config]

    save_with_retries(app, "prompt configuration", attempt)
    return result[0]


def live_prompt(app: ChatAssistApp, workspace_id: UUID) -> LivePrompt | None:
    """The live version once one has been published (or rolled back to); None while the workspace's own
    prompt still serves. Blocks (one read by id)."""
    config = read_or_none(app, prompt_config_id(workspace_id), PromptConfig)
    if config is None or not config.versioned:
        return None
    return LivePrompt(config.live_version, config.live.content)
