"""``chatassist audit verify [--workspace W]`` and ``chatassist audit anchor``: the hash chains of the event store
(commands/_chain.py) and the per-workspace anchors (commands/anchor_chains, ADR 0046)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

log = logging.getLogger("chatassist.anchors")

# A workspace's streams, from the read models that place each stream in its workspace: the workspace itself, its
# conversations, its per-workspace aggregates (settings, keys, prompts, widget security, integrations) and every
# aggregate with a row in its audit log (team, articles, audit accesses, accounts). The anchor then lists its
# streams itself, so a later check does not depend on these tables.
WORKSPACE_STREAMS = (
    "SELECT %(w)s::uuid AS id UNION SELECT id FROM transcript_v2_conversations WHERE workspace_id = %(w)s"
    " UNION SELECT aggregate_id FROM audit_v1_aggregates WHERE workspace_id = %(w)s"
    " UNION SELECT aggregate_id FROM audit_v1_log WHERE workspace_id = %(w)s"
)


def workspace_streams(url: str, workspace_id: UUID) -> list[UUID]:
    """The stream ids of a workspace (see WORKSPACE_STREAMS)."""
    with psycopg.connect(url) as conn:
        return [UUID(str(r[0])) for r in conn.execute(WORKSPACE_STREAMS, {"w": workspace_id}).fetchall()]


def all_workspaces(url: str) -> list[UUID]:
    """Every workspace that has an audit log (each has its Created row)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT DISTINCT workspace_id FROM audit_v1_log ORDER BY 1").fetchall()
    return [UUID(str(r[0])) for r in rows]


def anchor_workspaces(app: Any, url: str, table: str, workspaces: list[UUID] | None = None) -> list[Any]:
    """Anchor each workspace (default: every one); the anchors written."""
    from commands.anchor_chains import cmd as anchors

    done = []
    for workspace_id in workspaces if workspaces is not None else all_workspaces(url):
        streams = workspace_streams(url, workspace_id)
        done.append((workspace_id, anchors.execute(app, url, table, anchors.AnchorChains(workspace_id, streams))))
    return done


def anchor_job(app: Any, url: str, leadership: Any = None) -> int:
    """The scheduler's periodic anchor of every workspace (the active scheduler only); how many were anchored."""
    if leadership is not None and not leadership.is_leader():
        return 0
    done = anchor_workspaces(app, url, f"{app.name.lower()}_events")
    log.info("anchored the chains of %d workspaces", len(done))
    return len(done)


def _table(container: Any) -> str:
    return f"{container.app.name.lower()}_events"


def cmd_audit_anchor(settings: Any, args: argparse.Namespace) -> None:
    """Write an anchor (the heads of the chains) of a workspace, or of every workspace, to the audit log now."""
    from chatassist.bootstrap import bootstrap

    container = bootstrap(settings)
    try:
        chosen = [args.workspace] if args.workspace else None
        for workspace_id, a in anchor_workspaces(container.app, container.database_url, _table(container), chosen):
            print(
                f"workspace {workspace_id}: anchored {a.streams:,} streams at position {a.position:,}"
                f" ({a.changed:,} heads changed, {a.before_chain:,} streams with events before the chain)"
                f" digest {a.digest}"
            )
    finally:
        container.close()


def cmd_audit_verify(settings: Any, args: argparse.Namespace) -> None:
    """Check the hash chain of every stream of the event store (or of one workspace, then against its last anchor);
    exit 1 naming each stream's first broken link."""
    from chatassist.bootstrap import bootstrap
    from chatassist.progress import Progress
    from commands._chain import SHARES, verify, verify_streams
    from commands.anchor_chains.cmd import check_anchor

    container = bootstrap(settings)
    table = _table(container)
    problems: list[Any] = []
    anchor, progress = None, None
    try:
        if args.workspace:
            anchor, problems = check_anchor(container.app, container.database_url, table, args.workspace)
            streams = set(workspace_streams(container.database_url, args.workspace))
            if anchor is not None:
                streams |= {UUID(s) for s in anchor.heads} | {UUID(s) for s in anchor.before} | {anchor.id}
            report = verify_streams(container.database_url, table, sorted(streams, key=str))
        else:
            with psycopg.connect(container.database_url) as conn:
                total_row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
                total = int(total_row[0]) if total_row else 0
            progress = Progress("verify", total, SHARES)
            report = verify(container.database_url, table, progress)
    finally:
        container.close()
    summary = (
        f"{report.events:,} events: {report.chained:,} chained, {report.before_chain:,} before the chain,"
        f" {len(report.broken)} broken"
    )
    if progress is not None:
        progress.finish(summary)
    else:
        print(summary, file=sys.stderr)
    for b in report.broken:
        print(f"broken: {b.kind} in stream {b.stream} at version {b.version} (position {b.position})")
    if args.workspace:
        if anchor is None:
            print(f"anchor: none yet for workspace {args.workspace} (chatassist audit anchor --workspace ...)")
        else:
            print(
                f"anchor: {len(anchor.heads):,} streams as of position {anchor.position:,}"
                f" ({anchor.anchors} anchors), digest {anchor.digest}: {len(problems)} differ"
            )
        for p in problems:
            print(f"anchor: {p.kind} in stream {p.stream} at version {p.version}")
    if not report.ok or problems:
        raise SystemExit(1)
