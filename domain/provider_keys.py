"""ProviderKeyring: a workspace's own AI provider API keys, stored only as ciphertext.

The plaintext never reaches an event: ``KeySet`` carries the id of the encryption key used, the AES-GCM
ciphertext (base64) and the last four characters (for the masked display). One aggregate per workspace, its id
derived from the workspace id, created on the first key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, NotFound

KEY_PREFIXES: dict[str, str] = {"anthropic": "sk-ant-", "openai": "sk-"}
PROVIDERS = tuple(KEY_PREFIXES)
MIN_KEY_CHARS, MAX_KEY_CHARS = 20, 512
MAX_DETAIL_CHARS = 300
_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/provider-keyring")


def keyring_id(workspace_id: UUID) -> UUID:
    """The id of a workspace's ProviderKeyring aggregate."""
    return uuid5(_NS, str(workspace_id))


def check_provider(provider: str) -> str:
    """The provider name, or NotFound ``unknown_provider``."""
    if provider not in KEY_PREFIXES:
        raise NotFound(
            f"Unknown provider {provider[:40]!r}: use one of {', '.join(PROVIDERS)}.", code="unknown_provider"
        )
    return provider


def check_key_format(provider: str, api_key: object) -> str:
    """The key, stripped, or InvalidInput ``invalid_api_key`` when it cannot be a key of ``provider``."""
    prefix = KEY_PREFIXES[check_provider(provider)]
    key = api_key.strip() if isinstance(api_key, str) else ""
    wrong_family = provider == "openai" and key.startswith(KEY_PREFIXES["anthropic"])
    if (
        not key.startswith(prefix)
        or wrong_family
        or not MIN_KEY_CHARS <= len(key) <= MAX_KEY_CHARS
        or any(c.isspace() or not c.isprintable() for c in key)
    ):
        raise InvalidInput(
            f"This does not look like a{'n' if provider[0] in 'aeiou' else ''} {provider} API key: it should start "
            f"with {prefix!r}, have no spaces and be {MIN_KEY_CHARS} to {MAX_KEY_CHARS} characters long.",
            code="invalid_api_key",
        )
    return key


def masked(provider: str, last4: str) -> str:
    """The display form of a key: its provider prefix, an ellipsis and the last four characters."""
    return f"{KEY_PREFIXES[provider]}…{last4}"


@dataclass
class StoredKey:
    """A provider key as stored: encrypted, with what may be shown about it."""

    key_id: str
    ciphertext: str
    last4: str
    set_at: datetime
    tested_at: datetime | None = None
    test_ok: bool | None = None
    test_detail: str | None = None


class ProviderKeyring(Aggregate):
    """The workspace's provider keys; every change names its actor."""

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        """Derived from the workspace id, so reading is one get by id."""
        return keyring_id(workspace_id)

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Created(Aggregate.Created):
            workspace_id: UUID

        class KeySet(Aggregate.Event):
            provider: str
            key_id: str
            ciphertext: str
            last4: str
            by: UUID

        class KeyRemoved(Aggregate.Event):
            provider: str
            by: UUID

        class KeyTested(Aggregate.Event):
            provider: str
            ok: bool
            detail: str
            by: UUID

    @event("Created")
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.keys: dict[str, StoredKey] = {}

    def set_key(self, provider: str, key_id: str, ciphertext: str, last4: str, by: UUID) -> None:
        """Store an encrypted key (replacing any earlier one of the provider)."""
        check_provider(provider)
        self._key_set(provider=provider, key_id=key_id, ciphertext=ciphertext, last4=last4, by=by)

    @event("KeySet")
    def _key_set(self, provider: str, key_id: str, ciphertext: str, last4: str, by: UUID) -> None:
        self.keys[provider] = StoredKey(key_id, ciphertext, last4, self.modified_on)

    def stored(self, provider: str) -> StoredKey:
        """The provider's stored key, or NotFound ``key_not_found``."""
        found = self.keys.get(check_provider(provider))
        if found is None:
            raise NotFound(f"This workspace has no {provider} key of its own.", code="key_not_found")
        return found

    def remove_key(self, provider: str, by: UUID) -> None:
        """Forget the provider's key (the environment key, if any, applies again)."""
        self.stored(provider)
        self._key_removed(provider=provider, by=by)

    @event("KeyRemoved")
    def _key_removed(self, provider: str, by: UUID) -> None:
        del self.keys[provider]

    def record_test(self, provider: str, ok: bool, detail: str, by: UUID) -> None:
        """Record the outcome of a test call made with the provider's stored key."""
        self.stored(provider)
        self._key_tested(provider=provider, ok=ok, detail=detail[:MAX_DETAIL_CHARS], by=by)

    @event("KeyTested")
    def _key_tested(self, provider: str, ok: bool, detail: str, by: UUID) -> None:
        key = self.keys[provider]
        key.tested_at, key.test_ok, key.test_detail = self.modified_on, ok, detail
