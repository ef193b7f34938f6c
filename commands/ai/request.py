"""The exact request each provider is sent, in one place, and its hash (issue 17: what the AI was told).

``body`` is the JSON body the provider's SDK posts (the SDK adds nothing to it); the providers send exactly this
dict, and ``sha256`` hashes its canonical JSON (sorted keys, no spaces, UTF-8) with the provider's name, which the
orchestrator records on every ``ModelCallMade``. An auditor's rebuild of the request from the events and the prompt
history (commands/replay_conversation/request.py) hashes the same way, so equal hashes mean the same request.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from commands.ai import base
from commands.ai.prompt import anthropic_params, openai_messages


def body(provider: str, request: base.PromptRequest) -> dict[str, Any]:
    """The request body ``provider`` (anthropic, openai or offline) is sent for ``request``."""
    if provider == "anthropic":
        system, messages = anthropic_params(request.system, request.examples, request.history)
        return {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": system,
            "messages": messages,
            "stream": True,
        }
    if provider == "openai":
        return {
            "model": request.model,
            "messages": openai_messages(request.system, request.examples, request.history),
            "max_completion_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    # offline: no network; what it reads is the assembled prompt (and the knowledge, which the system text lists)
    return {"model": request.model, "messages": openai_messages(request.system, request.examples, request.history)}


def canonical(provider: str, payload: dict[str, Any]) -> bytes:
    """The bytes hashed: ``{"provider": ..., "body": ...}`` as canonical JSON."""
    data = {"provider": provider, "body": payload}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(provider: str, request: base.PromptRequest) -> str:
    """The hex SHA-256 of the canonical request ``provider`` is sent for ``request``."""
    return hashlib.sha256(canonical(provider, body(provider, request))).hexdigest()
