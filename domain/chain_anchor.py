"""ChainAnchor: the heads of the hash chains of a workspace's streams, recorded periodically (issue 17, ADR 0046).

One stream per workspace (its id derived from the workspace's). Each ``Recorded`` event carries the heads that
changed since the previous anchor (``[stream, version, chain hash hex]``), the digest of every head as of this anchor
(SHA-256 of the sorted ``stream:version:hash`` lines) and, the first time a stream is anchored, the digest of its
events stored before the chain (``[stream, last such version, digest hex]``: "anchored once"). Folding the stream
gives every head as of the last anchor, which ``chatassist audit verify --workspace`` compares with the store.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import ClockedEvent

_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/chain-anchor")


def anchor_id(workspace_id: UUID) -> UUID:
    """The id of a workspace's anchor stream."""
    return uuid5(_NS, str(workspace_id))


def heads_digest(heads: dict[str, tuple[int, str]]) -> str:
    """SHA-256 (hex) of every head, one ``stream:version:hash`` line each, sorted by stream."""
    lines = "".join(f"{s}:{v}:{h}\n" for s, (v, h) in sorted(heads.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


class ChainAnchor(Aggregate):
    """The anchored heads of a workspace (``heads``: stream -> (version, hash hex)) and the digests of the events
    stored before the chain (``before``: stream -> (version, digest hex))."""

    class Event(ClockedEvent):
        """Stamped by domain/clock.py."""

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        """One anchor stream per workspace."""
        return anchor_id(workspace_id)

    @event("Created")
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.heads: dict[str, tuple[int, str]] = {}
        self.before: dict[str, tuple[int, str]] = {}
        self.digest = heads_digest({})
        self.position = 0
        self.anchors = 0

    def record(self, position: int, heads: list[list[Any]], before: list[list[Any]]) -> None:
        """Anchor the changed ``heads`` and the first-seen ``before`` digests at store position ``position``."""
        merged = {**self.heads, **{str(s): (int(v), str(h)) for s, v, h in heads}}
        self._recorded(self.workspace_id, position, heads, before, heads_digest(merged), len(merged))

    @event("Recorded")
    def _recorded(
        self,
        workspace_id: UUID,
        position: int,
        heads: list[list[Any]],
        before: list[list[Any]],
        digest: str,
        streams: int,
    ) -> None:
        self.heads.update({str(s): (int(v), str(h)) for s, v, h in heads})
        self.before.update({str(s): (int(v), str(h)) for s, v, h in before})
        self.digest = digest
        self.position = position
        self.anchors += 1
