"""KeyVault: reads a workspace's stored provider keys and decrypts them for the chat turn and the key test."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from commands._lazy import read_or_none
from commands.application import ChatAssistApp
from commands.provider_keys.cipher import KeyCipher, KeysEncryptionNotConfigured, fingerprint
from domain.errors import DomainError
from domain.provider_keys import ProviderKeyring, StoredKey, keyring_id

log = logging.getLogger("chatassist.keys")


@dataclass(frozen=True)
class OwnKey:
    """A stored key as the turn sees it: a fingerprint (to cache clients) and the plaintext."""

    fingerprint: str
    plaintext: str


class KeyVault:
    """Stored keys of workspaces; ``cipher`` is None when CHATASSIST_KEYS_ENCRYPTION_KEY is not configured."""

    def __init__(self, app: ChatAssistApp, cipher: KeyCipher | None) -> None:
        self.app = app
        self.cipher = cipher
        self._plain: dict[tuple[UUID, str, str], str] = {}

    def require_cipher(self) -> KeyCipher:
        """The cipher, or 422 ``keys_encryption_not_configured``."""
        if self.cipher is None:
            raise KeysEncryptionNotConfigured(
                "Provider keys cannot be stored: this deployment has no CHATASSIST_KEYS_ENCRYPTION_KEY. "
                "Set it (see docs/settings.md) or use the environment keys ANTHROPIC_API_KEY / OPENAI_API_KEY."
            )
        return self.cipher

    def keyring(self, workspace_id: UUID) -> ProviderKeyring | None:
        """The workspace's keyring for reading, or None when no key was ever set."""
        return read_or_none(self.app, keyring_id(workspace_id), ProviderKeyring)

    def plaintext(self, workspace_id: UUID, provider: str, stored: StoredKey) -> str:
        """Decrypt one stored key (raises DomainError when it cannot be)."""
        cipher = self.require_cipher()
        cache_key = (workspace_id, provider, fingerprint(stored.ciphertext))
        found = self._plain.get(cache_key)
        if found is None:
            found = cipher.decrypt(workspace_id, provider, stored.key_id, stored.ciphertext)
            if len(self._plain) > 10_000:
                self._plain.clear()
            self._plain[cache_key] = found
        return found

    def own_keys(self, workspace_id: UUID) -> dict[str, OwnKey]:
        """Every key of the workspace that can be decrypted here; the others are logged and skipped."""
        keyring = self.keyring(workspace_id)
        if keyring is None or self.cipher is None:
            return {}
        out: dict[str, OwnKey] = {}
        for provider, stored in keyring.keys.items():
            try:
                out[provider] = OwnKey(fingerprint(stored.ciphertext), self.plaintext(workspace_id, provider, stored))
            except (DomainError, ValueError) as err:
                log.warning(
                    "workspace %s: its %s key cannot be decrypted (%s)", workspace_id, provider, type(err).__name__
                )
        return out
