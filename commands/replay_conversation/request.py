"""What the AI was told: the exact request of a recorded model call, rebuilt from the events and the prompt history,
and checked against the hash the call recorded (``ModelCallMade.request_sha256``, commands/ai/request.py).

The request is assembled as the chat turn assembled it (``commands.chat_turn.service.prepare``): the workspace as it
was when the visitor's message arrived (its system prompt or the recorded prompt version's content, persona,
examples, help articles, history length, max tokens), the conversation as it was right after that message (the
history window), and the call's own provider and model. A chat process keeps a workspace for up to its cache time
(``CHATASSIST_WORKSPACE_CACHE_S``, 1 s by default), so when the newest version does not match, the versions made in the
few seconds before are tried too; the version that matched is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from commands._lazy import read_or_none
from commands._prompt_config import LivePrompt
from commands.ai import request as provider_request
from commands.ai.base import PromptRequest
from commands.application import ChatAssistApp
from commands.chat_turn.service import prepare
from commands.replay_conversation.events import REDACTED, started
from domain.conversation import Conversation, Turn
from domain.errors import NotFound
from domain.knowledge import KnowledgeHit, builtin_article_id, chunks
from domain.prompt_config import PromptConfig, prompt_config_id
from domain.workspace import Workspace

CACHE_WINDOW = timedelta(seconds=10)  # how far back a chat process's cached workspace may reach
MATCH, MISMATCH, NOT_RECORDED = "match", "mismatch", "not_recorded"


@dataclass(frozen=True)
class RebuiltRequest:
    """A model call's request as rebuilt. ``verdict``: match (the rebuilt request hashes to the recorded hash),
    mismatch, or not_recorded (the call predates the hash: the request is shown, unproven)."""

    conversation_id: UUID
    call_id: str
    version: int
    provider: str
    model: str
    prompt_version: int
    attempt: int
    recorded_sha256: str | None
    rebuilt_sha256: str
    verdict: str
    workspace_version: int
    history_turns: int
    body: dict[str, Any]


def _workspace_versions(app: ChatAssistApp, workspace_id: UUID, at: Any) -> list[int]:
    """The workspace's version in force at ``at``, then those replaced within CACHE_WINDOW before it (newest first)."""
    events: list[Any] = list(app.events.get(workspace_id))
    times = [(e.originator_version, e.timestamp) for e in events]
    in_force = [v for v, t in times if t <= at] or [times[0][0]]
    newest = in_force[-1]
    replaced = {v - 1 for v, t in times if at - CACHE_WINDOW <= t <= at and v > 1}
    return [newest, *sorted((v for v in replaced if v < newest), reverse=True)]


def _live(app: ChatAssistApp, workspace_id: UUID, prompt_version: int) -> LivePrompt | None:
    """The recorded prompt version's content when it is a published one (versions are never rewritten); None when
    the workspace's own prompt served."""
    config = read_or_none(app, prompt_config_id(workspace_id), PromptConfig)
    found = config.versions.get(prompt_version) if config is not None else None
    return LivePrompt(prompt_version, found.content) if found is not None and found.kind != "initial" else None


def retrieved(app: ChatAssistApp, workspace: Workspace, events: list[Any], reply_to: str) -> list[KnowledgeHit] | None:
    """The help article chunks the turn retrieved, rebuilt from the reply's provenance (``AssistantReplied.knowledge``:
    article, version, chunk) and each article as it was at that version; None for a reply recorded before the
    knowledge base (its system prompt carried the built-in snippets) or a turn without a reply."""
    reply = next((e for e in events if type(e).__name__ == "AssistantReplied" and e.reply_to == reply_to), None)
    knowledge = getattr(reply, "knowledge", None)
    if knowledge is None:
        return None
    builtins = {str(builtin_article_id(workspace.id, s.id)): s for s in workspace.snippets()}
    hits: list[KnowledgeHit] = []
    for item in knowledge.get("retrieved", []):
        if item["version"] == 0 and item["article_id"] in builtins:
            snippet = builtins[item["article_id"]]
            title, body, url = snippet.title, snippet.text, None
        else:
            article: Any = app.repository.get(UUID(item["article_id"]), version=item["version"])
            title, body, url = article.title, article.body, article.url
        parts = chunks(title, body)
        part = parts[item["chunk"]] if item["chunk"] < len(parts) else parts[-1]
        heading = part.heading if part.heading != title else ""
        hits.append(KnowledgeHit(item["article_id"], item["version"], item["chunk"], title, url, heading, part.text,
                                 item["score"], item["support"]))  # fmt: skip
    return hits


def _masked(body: dict[str, Any], history: list[Turn]) -> dict[str, Any]:
    """``body`` with the history window's texts (the visitor's and the answers) masked; the examples stay."""
    messages = list(body["messages"])
    for i in range(len(messages) - len(history), len(messages)):
        messages[i] = {**messages[i], "content": REDACTED}
    return {**body, "messages": messages}


def rebuild(
    app: ChatAssistApp, workspace_id: UUID, conversation_id: UUID, call_id: str, *, personal: bool = True
) -> RebuiltRequest:
    """Rebuild the request of model call ``call_id``; 404 conversation_not_found, model_call_not_found. Blocks."""
    events: list[Any] = list(app.events.get(conversation_id))
    started(app, workspace_id, conversation_id, events[0] if events else None)
    call = next((e for e in events if type(e).__name__ == "ModelCallMade" and e.call_id == call_id), None)
    if call is None:
        raise NotFound(
            f"Conversation {conversation_id} has no model call {call_id[:64]!r}: see its ModelCallMade events.",
            code="model_call_not_found",
        )
    received = next(e for e in events if type(e).__name__ == "UserMessageReceived" and e.message_id == call.reply_to)
    aggregate: Any = None
    for e in events[: received.originator_version]:
        aggregate = e.mutate(aggregate)
    assert isinstance(aggregate, Conversation)
    live = _live(app, workspace_id, call.prompt_version)
    tried: list[tuple[int, list[Turn], dict[str, Any], str]] = []
    for version in _workspace_versions(app, workspace_id, received.timestamp):
        workspace: Any = app.repository.get(workspace_id, version=version)
        assert isinstance(workspace, Workspace)
        prep = prepare(workspace, live)
        history = aggregate.history(prep.settings.max_history_turns)
        hits = retrieved(app, workspace, events, call.reply_to)
        system = prep.system if hits is None else prep.system_with(hits)
        request = PromptRequest(
            call.model, system, prep.examples, history, prep.settings.max_response_tokens, hits or []
        )
        body = provider_request.body(call.provider, request)
        tried.append((version, history, body, provider_request.sha256(call.provider, request)))
        if call.request_sha256 is None or tried[-1][3] == call.request_sha256:
            break
    version, history, body, digest = next((t for t in tried if t[3] == call.request_sha256), tried[0])
    verdict = NOT_RECORDED if call.request_sha256 is None else MATCH if digest == call.request_sha256 else MISMATCH
    return RebuiltRequest(
        conversation_id, call_id, call.originator_version, call.provider, call.model, call.prompt_version,
        call.attempt, call.request_sha256, digest, verdict, version, len(history),
        body if personal else _masked(body, history),
    )  # fmt: skip
