"""Prompt assembly, in one place: system prompt + knowledge + few-shot examples + history window.

The system block (prompt and knowledge) is the stable, cacheable part; examples and
history follow as messages.
"""

from __future__ import annotations

from domain.conversation import Turn
from domain.workspace import Workspace

MAX_KNOWLEDGE_CHARS = 24_000


def system_text(workspace: Workspace) -> str:
    """The system prompt with the workspace's help articles appended."""
    prompt = workspace.settings.system_prompt.replace("{workspace}", workspace.name)
    parts, used = [prompt, "", "Help articles you may rely on:"], 0
    for snippet in workspace.snippets():
        entry = f"## {snippet.title}\n{snippet.text}"
        if used + len(entry) > MAX_KNOWLEDGE_CHARS:
            break
        parts.append(entry)
        used += len(entry)
    return "\n".join(parts)


def example_turns(workspace: Workspace) -> list[Turn]:
    """Few-shot examples as alternating user/assistant turns."""
    turns: list[Turn] = []
    for example in workspace.examples:
        turns += [Turn("user", example["user"]), Turn("assistant", example["assistant"])]
    return turns


def anthropic_params(
    system: str, examples: list[Turn], history: list[Turn]
) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """System blocks (with a cache marker on the stable part) and messages for the Messages API."""
    system_blocks: list[dict[str, object]] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": t.role, "content": t.text} for t in [*examples, *history]]
    return system_blocks, messages


def openai_messages(system: str, examples: list[Turn], history: list[Turn]) -> list[dict[str, str]]:
    """Messages for Chat Completions (OpenAI caches long stable prefixes automatically)."""
    return [{"role": "system", "content": system}] + [
        {"role": t.role, "content": t.text} for t in [*examples, *history]
    ]
