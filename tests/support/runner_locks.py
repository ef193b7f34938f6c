"""Which process holds each projection runner's lock (the runners of a process share one session for their locks,
named ``chatassist projection runners pid <pid>``: chatassist/runner_sessions.py)."""

from __future__ import annotations

from typing import Any

import psycopg

# an advisory lock on a bigint key shows in pg_locks as its high and low 32 bits (classid, objid), objsubid 1
HOLDERS_SQL = (
    "SELECT k.name, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " JOIN unnest(%s::text[], %s::text[]) AS k(name, key)"
    " ON ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(k.key, 0)"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND a.datname = current_database()"
)


def runner_key(projection_name: str) -> str:
    """The advisory lock name of a projection's runner (projections/_paging.py lock_key, its tracking table)."""
    return f"chatassist.projection.runner:{projection_name}_tracking"


def lock_holders(conn: psycopg.Connection[Any], projection_names: list[str]) -> dict[str, int]:
    """Projection name -> the process id (from its session's application_name) holding its runner lock."""
    keys = [runner_key(name) for name in projection_names]
    rows = conn.execute(HOLDERS_SQL.encode(), (projection_names, keys)).fetchall()
    return {str(r[0]): int(str(r[1]).rsplit(" ", 1)[1]) for r in rows}
