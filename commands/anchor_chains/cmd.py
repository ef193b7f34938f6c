"""AnchorChains: record the heads of a workspace's chains; ``check_anchor``: compare the store with the last anchor.

The hash chain (commands/_chain.py) proves each link, not the end of a stream nor that a whole chain was not
recomputed: someone able to write both tables can delete a stream's last events with their hashes, or edit events and
recompute every hash after them. The anchor, a ``ChainAnchor.Recorded`` event in the audit log (and so copied wherever
the log is exported), fixes each stream's head (version and hash) at the time it was written; the check then names:

- ``truncated``: the anchored head's event or hash is gone (the stream was cut back below its anchored version);
- ``rewritten``: the hash at the anchored version is not the anchored one (the chain was recomputed);
- ``before_chain_edited``: the events stored before the chain no longer digest to what the first anchor recorded.

Events stored before the chain are "anchored once": the first anchor that sees such a stream records the SHA-256 of
the per-event digests of those events (in version order); they never change legitimately, so later anchors do not
repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from commands._store import link_sql
from commands.application import ChatAssistApp
from domain.chain_anchor import ChainAnchor, anchor_id, heads_digest


@dataclass(frozen=True)
class AnchorChains:
    """Anchor ``streams`` (the workspace's stream ids, from the composition root) of ``workspace_id``."""

    workspace_id: UUID
    streams: list[UUID]


@dataclass(frozen=True)
class Anchored:
    """What an anchor recorded: its store position, the streams it covers, how many heads changed."""

    position: int
    streams: int
    changed: int
    before_chain: int
    digest: str


@dataclass(frozen=True)
class AnchorProblem:
    """A stream that differs from the last anchor."""

    kind: str  # truncated, rewritten, before_chain_edited
    stream: str
    version: int


def _heads_query(table: str) -> sql.Composed:
    chain = sql.Identifier(f"{table}_chain")
    return sql.SQL(
        "SELECT s.id::text, h.originator_version, encode(h.chain_hash, 'hex'), p.before_version,"
        " encode(p.before_digest, 'hex') FROM unnest(%(ids)s::uuid[]) AS s(id)"
        " LEFT JOIN LATERAL (SELECT c.originator_version, c.chain_hash FROM {chain} c WHERE c.originator_id = s.id"
        " ORDER BY c.originator_version DESC LIMIT 1) h ON true"
        " LEFT JOIN LATERAL (SELECT max(e.originator_version) AS before_version,"
        " sha256(string_agg({link}, ''::bytea ORDER BY e.originator_version)) AS before_digest"
        " FROM {table} e WHERE e.originator_id = s.id AND NOT EXISTS (SELECT 1 FROM {chain} c"
        " WHERE c.originator_id = e.originator_id AND c.originator_version <= e.originator_version)) p ON true"
    ).format(table=sql.Identifier(table), chain=chain, link=sql.SQL(link_sql("NULL::bytea", "e")))


def current_heads(
    conn: psycopg.Connection[Any], table: str, streams: list[UUID]
) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """Each stream's chain head (version, hash hex) and the digest of its events before the chain (when any)."""
    heads: dict[str, tuple[int, str]] = {}
    before: dict[str, tuple[int, str]] = {}
    rows = conn.execute(_heads_query(table), {"ids": [str(s) for s in streams]}).fetchall()
    for row in rows:
        stream, version, digest, before_version, before_digest = tuple(row.values()) if isinstance(row, dict) else row
        if version is not None:
            heads[stream] = (int(version), digest)
        if before_version is not None:
            before[stream] = (int(before_version), before_digest)
    return heads, before


def _position(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(sql.Identifier(table)))
    found = row.fetchone()
    value = next(iter(found.values())) if isinstance(found, dict) else (found[0] if found else 0)
    return int(value or 0)


def load(app: ChatAssistApp, workspace_id: UUID) -> ChainAnchor | None:
    """The workspace's anchor stream folded (every head as of the last anchor), or None before the first."""
    from eventsourcing.application import AggregateNotFoundError

    try:
        found: Any = app.repository.get(anchor_id(workspace_id))
    except AggregateNotFoundError:
        return None
    assert isinstance(found, ChainAnchor)
    return found


def execute(app: ChatAssistApp, url: str, table: str, cmd: AnchorChains) -> Anchored:
    """Read the heads of the workspace's streams and record those that changed since the last anchor."""
    anchor = load(app, cmd.workspace_id) or ChainAnchor(cmd.workspace_id)
    own = str(anchor.id)
    streams = [s for s in dict.fromkeys(cmd.streams) if str(s) != own]  # the anchor stream cannot hold its own head
    with psycopg.connect(url) as conn:
        position = _position(conn, table)
        heads, before = current_heads(conn, table, streams)
    changed = [[s, v, h] for s, (v, h) in sorted(heads.items()) if anchor.heads.get(s) != (v, h)]
    first_seen = [[s, v, d] for s, (v, d) in sorted(before.items()) if s not in anchor.before]
    anchor.record(position, changed, first_seen)
    app.save(anchor)
    return Anchored(position, len(anchor.heads), len(changed), len(anchor.before), anchor.digest)


def check_anchor(app: ChatAssistApp, url: str, table: str, workspace_id: UUID) -> tuple[Any, list[AnchorProblem]]:
    """The last anchor (None: never anchored) and each stream that differs from it, by kind, stream and version."""
    anchor = load(app, workspace_id)
    if anchor is None or not anchor.anchors:
        return None, []
    problems: list[AnchorProblem] = []
    if heads_digest(anchor.heads) != anchor.digest:
        problems.append(AnchorProblem("anchor_digest", str(anchor.id), anchor.version))
    streams = [UUID(s) for s in {**anchor.heads, **anchor.before}]
    query = sql.SQL(
        "SELECT s.id::text, encode(c.chain_hash, 'hex'), e.originator_version IS NOT NULL"
        " FROM unnest(%(ids)s::uuid[], %(versions)s::bigint[]) AS s(id, version)"
        " LEFT JOIN {chain} c ON c.originator_id = s.id AND c.originator_version = s.version"
        " LEFT JOIN {table} e ON e.originator_id = s.id AND e.originator_version = s.version"
    ).format(table=sql.Identifier(table), chain=sql.Identifier(f"{table}_chain"))
    ids = sorted(anchor.heads)
    with psycopg.connect(url) as conn:
        rows = conn.execute(query, {"ids": ids, "versions": [anchor.heads[s][0] for s in ids]}).fetchall()
        _, before = current_heads(conn, table, streams)
    for stream, digest, present in rows:
        version, anchored = anchor.heads[stream]
        if digest is None or not present:
            problems.append(AnchorProblem("truncated", stream, version))
        elif digest != anchored:
            problems.append(AnchorProblem("rewritten", stream, version))
    for stream, (version, digest) in sorted(anchor.before.items()):
        if before.get(stream) != (version, digest):
            problems.append(AnchorProblem("before_chain_edited", stream, version))
    problems.sort(key=lambda p: (p.stream, p.kind))
    return anchor, problems
