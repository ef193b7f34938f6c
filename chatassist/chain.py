"""``chatassist audit verify``: the hash chain of every stream of the event store (commands/_chain.py)."""

from __future__ import annotations

import argparse
from typing import Any

import psycopg
from psycopg import sql


def cmd_audit_verify(settings: Any, args: argparse.Namespace) -> None:
    """Check the hash chain of every stream of the event store; exit 1 naming each stream's first broken link."""
    from chatassist.bootstrap import bootstrap
    from chatassist.progress import Progress
    from commands._chain import SHARES, verify

    container = bootstrap(settings)
    table = f"{container.app.name.lower()}_events"
    try:
        with psycopg.connect(container.database_url) as conn:
            total_row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            total = int(total_row[0]) if total_row else 0
        progress = Progress("verify", total, SHARES)
        report = verify(container.database_url, table, progress)
    finally:
        container.close()
    progress.finish(
        f"{report.events:,} events: {report.chained:,} chained, {report.before_chain:,} before the chain,"
        f" {len(report.broken)} broken"
    )
    for b in report.broken:
        print(f"broken: {b.kind} in stream {b.stream} at version {b.version} (position {b.position})")
    if not report.ok:
        raise SystemExit(1)
