"""TestProviderKey: one cheap real call with the workspace's stored key, its outcome recorded as KeyTested."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import anyio.to_thread

from commands._common import load, update
from commands.ai.clients import Endpoints
from commands.provider_keys.vault import KeyVault
from domain.provider_keys import ProviderKeyring, check_provider, keyring_id


@dataclass(frozen=True)
class TestProviderKey:
    """Test the provider's stored key of the workspace."""

    __test__ = False  # not a pytest class

    workspace_id: UUID
    by: UUID
    provider: str


@dataclass(frozen=True)
class KeyTestResult:
    """What the provider said."""

    ok: bool
    detail: str


async def execute(vault: KeyVault, endpoints: Endpoints, cmd: TestProviderKey) -> KeyTestResult:
    """404 ``key_not_found`` without a stored key; else call the provider and record the outcome."""
    check_provider(cmd.provider)

    def plaintext() -> str:
        keyring = load(vault.app, keyring_id(cmd.workspace_id), ProviderKeyring, "key", read_only=True)
        return vault.plaintext(cmd.workspace_id, cmd.provider, keyring.stored(cmd.provider))

    key = await anyio.to_thread.run_sync(plaintext)
    ok, detail = await endpoints.check(cmd.provider, key)

    def record() -> None:
        update(
            vault.app,
            keyring_id(cmd.workspace_id),
            ProviderKeyring,
            "key",
            lambda keyring: keyring.record_test(cmd.provider, ok, detail, cmd.by),
        )

    await anyio.to_thread.run_sync(record)
    return KeyTestResult(ok, detail)
