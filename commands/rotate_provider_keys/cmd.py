"""RotateProviderKeys: re-encrypt every stored provider key with the current encryption key (new KeySet events)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import update
from commands._lazy import read_or_none
from commands.provider_keys.vault import KeyVault
from domain.provider_keys import ProviderKeyring

ROTATION_ACTOR = UUID(int=0)  # the CLI acts as "the system"


@dataclass(frozen=True)
class Rotated:
    """How many keys were re-encrypted and how many already used the current key."""

    reencrypted: int
    current: int


def execute(vault: KeyVault, keyring_ids: list[UUID]) -> Rotated:
    """For each key ring (see ``chatassist keys rotate``), re-encrypt the keys not under the current key id."""
    cipher = vault.require_cipher()
    reencrypted = current = 0
    for ring_id in keyring_ids:
        keyring = read_or_none(vault.app, ring_id, ProviderKeyring)
        if keyring is None:
            continue
        workspace_id = keyring.workspace_id
        stale = [p for p, k in keyring.keys.items() if k.key_id != cipher.current]
        current += len(keyring.keys) - len(stale)
        if not stale:
            continue

        def reencrypt(ring: ProviderKeyring, workspace_id: UUID = workspace_id) -> int:
            count = 0
            for provider, stored in list(ring.keys.items()):
                if stored.key_id == cipher.current:
                    continue
                plain = vault.plaintext(workspace_id, provider, stored)
                key_id, blob = cipher.encrypt(workspace_id, provider, plain)
                ring.set_key(provider, key_id, blob, stored.last4, ROTATION_ACTOR)
                count += 1
            return count

        reencrypted += update(vault.app, ring_id, ProviderKeyring, "key ring", reencrypt)
    return Rotated(reencrypted, current)
