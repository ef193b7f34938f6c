"""RemoveProviderKey: forget a workspace's own key; the environment key (if any) serves the workspace again."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._common import update
from commands.application import ChatAssistApp
from domain.provider_keys import ProviderKeyring, check_provider, keyring_id


@dataclass(frozen=True)
class RemoveProviderKey:
    """Remove the provider's key of the workspace."""

    workspace_id: UUID
    by: UUID
    provider: str


def execute(app: ChatAssistApp, cmd: RemoveProviderKey) -> None:
    """404 ``key_not_found`` when the workspace has no key of that provider."""
    check_provider(cmd.provider)
    update(
        app,
        keyring_id(cmd.workspace_id),
        ProviderKeyring,
        "key",
        lambda keyring: keyring.remove_key(cmd.provider, cmd.by),
    )
