"""Where the provider SDKs connect, and a cheap call that tells whether an API key works."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from commands.ai import base
from commands.ai.anthropic_provider import AnthropicProvider
from commands.ai.openai_provider import OpenAIProvider


@dataclass(frozen=True)
class Endpoints:
    """Base URLs (None: the provider's own) and the timeout for SDK clients built from any key."""

    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    timeout_s: float = 30.0

    def provider(self, name: str, api_key: str) -> base.Provider:
        """A streaming provider for ``name`` ('anthropic' or 'openai') with ``api_key``."""
        if name == "anthropic":
            return AnthropicProvider(api_key, base_url=self.anthropic_base_url, timeout_s=self.timeout_s)
        return OpenAIProvider(api_key, base_url=self.openai_base_url, timeout_s=self.timeout_s)

    async def check(self, name: str, api_key: str) -> tuple[bool, str]:
        """List the models with ``api_key`` (free, no tokens): (works, a sentence that never quotes the key)."""
        timeout = min(self.timeout_s, 10.0)
        # each SDK imported where it is used (ADR 0062): checking an Anthropic key never loads the openai SDK
        if name == "anthropic":
            import anthropic

            sdk: ModuleType = anthropic
        else:
            import openai

            sdk = openai
        try:
            if name == "anthropic":
                async with anthropic.AsyncAnthropic(
                    api_key=api_key, base_url=self.anthropic_base_url, max_retries=0, timeout=timeout
                ) as a_client:
                    await a_client.models.list(limit=1)
            else:
                async with openai.AsyncOpenAI(
                    api_key=api_key, base_url=self.openai_base_url, max_retries=0, timeout=timeout
                ) as o_client:
                    await o_client.models.list()
        except Exception as err:
            verdict = _refusal(name, err, sdk)
            if verdict is None:
                raise
            return False, verdict
        return True, f"{name} accepted the key."


def _refusal(name: str, err: Exception, sdk: ModuleType) -> str | None:
    """What a failed check says (never the key), or None for an error that is not the SDK's answer."""
    if isinstance(err, sdk.AuthenticationError):
        return f"{name} rejected the key (401): check that it is complete and not revoked."
    if isinstance(err, sdk.PermissionDeniedError):
        return f"{name} accepted the key but refused access (403): check the key's permissions."
    if isinstance(err, sdk.APIStatusError):
        return f"{name} answered {err.status_code}: the key could not be confirmed; try again later."
    if isinstance(err, sdk.APIConnectionError):
        return f"{name} could not be reached (connection error or timeout); try again later."
    return None
