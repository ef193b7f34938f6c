"""Where the provider SDKs connect, and a cheap call that tells whether an API key works."""

from __future__ import annotations

from dataclasses import dataclass

import anthropic
import openai

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
        except (anthropic.AuthenticationError, openai.AuthenticationError):
            return False, f"{name} rejected the key (401): check that it is complete and not revoked."
        except (anthropic.PermissionDeniedError, openai.PermissionDeniedError):
            return False, f"{name} accepted the key but refused access (403): check the key's permissions."
        except (anthropic.APIStatusError, openai.APIStatusError) as err:
            return False, f"{name} answered {err.status_code}: the key could not be confirmed; try again later."
        except (anthropic.APIConnectionError, openai.APIConnectionError):
            return False, f"{name} could not be reached (connection error or timeout); try again later."
        return True, f"{name} accepted the key."
