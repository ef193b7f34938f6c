"""SetProviderKey: store a workspace's own API key for a provider, encrypted; only its last four are kept clear."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._lazy import get_or_none, save_with_retries
from commands.provider_keys.vault import KeyVault
from domain.provider_keys import ProviderKeyring, check_key_format, keyring_id


@dataclass(frozen=True)
class SetProviderKey:
    """Replace the provider's key of the workspace. ``repr`` hides the key."""

    workspace_id: UUID
    by: UUID
    provider: str
    api_key: str

    def __repr__(self) -> str:
        return f"SetProviderKey(workspace_id={self.workspace_id}, provider={self.provider!r}, api_key=<hidden>)"


def execute(vault: KeyVault, cmd: SetProviderKey) -> str:
    """Validate, encrypt and save; returns the last four characters of the key."""
    key = check_key_format(cmd.provider, cmd.api_key)
    cipher = vault.require_cipher()
    key_id, blob = cipher.encrypt(cmd.workspace_id, cmd.provider, key)

    def attempt() -> list[ProviderKeyring]:
        keyring = get_or_none(vault.app, keyring_id(cmd.workspace_id), ProviderKeyring) or ProviderKeyring(
            cmd.workspace_id
        )
        keyring.set_key(cmd.provider, key_id, blob, key[-4:], cmd.by)
        return [keyring]

    save_with_retries(vault.app, "key ring", attempt)
    return key[-4:]
