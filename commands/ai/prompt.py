"""Prompt assembly, in one place: system prompt + persona + knowledge + few-shot examples + history window.

The system block (prompt, persona, knowledge and the self-assessment instruction) is the stable,
cacheable part; examples and history follow as messages. ``content`` is the live PromptConfig
version when one is published; without it the workspace's own system prompt and examples serve
(and no persona block is added).
"""

from __future__ import annotations

from typing import Any

from domain.assessment import DEFAULT_TOPICS, OTHER
from domain.conversation import Turn
from domain.knowledge import KnowledgeHit
from domain.prompt_content import PromptContent
from domain.workspace import Workspace

MAX_KNOWLEDGE_CHARS = 24_000


def persona_text(persona: dict[str, Any]) -> str:
    """The persona as instructions: tone, language and length."""
    language = (
        "Reply in the customer's language."
        if persona["language"] == "auto"
        else f"Reply in this language: {persona['language']}."
    )
    return f"Tone: {persona['tone']}. {language} Keep each reply under {persona['max_response_words']} words."


def assessment_text(topics: list[str]) -> str:
    """The instruction for the self-assessment trailer (stripped from the stream by ``commands.ai.trailer``)."""
    names = ", ".join(dict.fromkeys([*topics, OTHER]))
    return (
        "After your reply, on its own last line, add an assessment the customer never sees, exactly in this form: "
        "<confidence>0.85</confidence><topic>Billing</topic>\n"
        "confidence: a number from 0 to 1, how sure you are that your reply is correct and fully answers the "
        "customer from the help articles above (low when you are guessing or the articles do not cover it). "
        f"topic: the one that fits the conversation best, from: {names}."
    )


def system_text(
    workspace: Workspace, content: PromptContent | None = None, hits: list[KnowledgeHit] | None = None
) -> str:
    """The system prompt (and the persona, from a published version) with help articles and the self-assessment
    instruction (with the topics in force) appended. ``hits``: the chunks retrieved for this turn, each with its
    article id, and the instruction to cite them (docs/knowledge.md); None: the workspace's built-in snippets."""
    prompt = (content.system_prompt if content else workspace.settings.system_prompt).replace(
        "{workspace}", workspace.name
    )
    parts, used = [prompt, "", "Help articles you may rely on:"], 0
    if content is not None:
        parts[1:1] = ["", persona_text(content.persona)]
    if hits is None:
        for snippet in workspace.snippets():
            entry = f"## {snippet.title}\n{snippet.text}"
            if used + len(entry) > MAX_KNOWLEDGE_CHARS:
                break
            parts.append(entry)
            used += len(entry)
    else:
        parts += knowledge_entries(hits)
    topics = list(content.topic_rules) if content is not None else [name for name, _ in DEFAULT_TOPICS]
    parts += ["", assessment_text(topics)]
    if hits:
        parts.append(CITE_INSTRUCTION)
    return "\n".join(parts)


CITE_INSTRUCTION = (
    "On that same last line, also name the help articles your reply used, by their ids, in this form: "
    "<sources>id1, id2</sources> (write <sources></sources> when you used none)."
)


def knowledge_entries(hits: list[KnowledgeHit]) -> list[str]:
    """The retrieved chunks, best first, within the knowledge budget; each headed by its article's id."""
    if not hits:
        return ["(No help article matches this question.)"]
    entries, used = [], 0
    for hit in hits:
        heading = f"{hit.title} > {hit.heading}" if hit.heading else hit.title
        entry = f"## {heading} (id: {hit.article_id})\n{hit.text}"
        if used + len(entry) > MAX_KNOWLEDGE_CHARS:
            break
        entries.append(entry)
        used += len(entry)
    return entries


def example_turns(workspace: Workspace, content: PromptContent | None = None) -> list[Turn]:
    """Few-shot examples as alternating user/assistant turns, in their order."""
    turns: list[Turn] = []
    for example in content.examples if content else workspace.examples:
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
