"""``chatassist audit verify``: check the hash chain of every stream in the event store (issue 17, ADR 0028).

Each event's ``chain_hash`` was computed in the append itself (commands/_store.py) and stored beside it in
``<events>_chain``: SHA-256 of the previous event of its stream's hash and its own stream id, version, topic and
state. The check recomputes every link in PostgreSQL (events and hashes joined in their primary keys' order, a share
of the stream ids at a time, so only problems leave the server) and reports, per stream, the first broken link:

- ``missing``: a version is absent (an event deleted while its hash remains, position None; both deleted: named at
  the next version; or the stream does not start at version 1);
- ``reordered``: an event's position (notification id) comes before its predecessor's;
- ``unchained``: an event without a hash after hashed ones (written around the chained append, or its hash wiped);
- ``edited``: the stored hash is not that of the previous hash and the event's content (content or hash changed).

Events stored before the chain existed (no hash, none before them in their stream) are counted as "before the
chain". The hashes are not keyed: someone able to write both tables can delete a stream's last events with their
hashes, or recompute a whole stream's chain, undetected here: the per-workspace anchors catch those up to the last
anchor (commands/anchor_chains, ADR 0046).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from commands._store import link_sql

SHARES = 64
WORK_MEM = "64MB"


@dataclass(frozen=True)
class Broken:
    """The first broken link of a stream."""

    kind: str
    stream: str
    version: int
    position: int | None  # the event's notification id (None: the event is gone, its hash remains)


@dataclass
class Report:
    """What the check found."""

    events: int = 0
    chained: int = 0
    before_chain: int = 0
    broken: list[Broken] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no link is broken."""
        return not self.broken


def _bounds(share: int, shares: int) -> tuple[str, str | None]:
    """The stream-id range of a share: uuids from ``lo`` (inclusive) to ``hi`` (exclusive; None: the end)."""

    def uuid_at(n: int) -> str:
        raw = f"{(n << 128) // shares:032x}"
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    return uuid_at(share), uuid_at(share + 1) if share + 1 < shares else None


def _where(table: str, upper: bool, one: bool, many: bool) -> dict[str, Any]:
    where = "{col} >= %(lo)s::uuid" + (" AND {col} < %(hi)s::uuid" if upper else "")
    if one:
        where = "{col} = %(lo)s::uuid"
    if many:
        where = "{col} = ANY(%(ids)s::uuid[])"
    return {
        "table": sql.Identifier(table),
        "chain": sql.Identifier(f"{table}_chain"),
        "where_v": sql.SQL(where.format(col="e.originator_id")),
        "where_c": sql.SQL(where.format(col="c.originator_id")),
    }


def _query(table: str, upper: bool, one: bool = False, many: bool = False) -> sql.Composed:
    # Driven by the events in primary-key order, each joined to its hash. The share's bounds are repeated on the
    # hashes: PostgreSQL does not carry a range across the join's equality, and without them it hashed the whole
    # hash table for every share (1M rows per share on the 1M-event store: 16,000 events/s). One window (the same
    # partition, order and frame for every function: one WindowAgg node, one pass): ``chained_before`` includes
    # the row itself, which changes nothing, as it is read only for a row without a hash. ``hashes`` counts the
    # share's hashes (an index-only count): more than the events that found theirs means a hash whose event is
    # gone, and only then is the anti-join run (``_orphans``: it cost a quarter of a share's time on every share).
    return sql.SQL(
        "WITH r AS (SELECT e.originator_id, e.originator_version, e.notification_id, c.chain_hash,"
        " lag(e.originator_version) OVER w AS prev_version, lag(e.notification_id) OVER w AS prev_id,"
        " bool_or(c.chain_hash IS NOT NULL) OVER w AS chained_before,"
        " CASE WHEN c.chain_hash IS NOT NULL THEN {link} END AS expected"
        " FROM {table} e LEFT JOIN {chain} c"
        " ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version AND {where_c}"
        " WHERE {where_v} WINDOW w AS (PARTITION BY e.originator_id ORDER BY e.originator_version)),"
        " k AS (SELECT *, CASE"
        " WHEN (prev_version IS NULL AND originator_version <> 1) OR originator_version <> prev_version + 1"
        " THEN 'missing'"
        " WHEN prev_id > notification_id THEN 'reordered'"
        " WHEN chain_hash IS NULL AND chained_before THEN 'unchained'"
        " WHEN chain_hash IS NOT NULL AND chain_hash <> expected THEN 'edited' END AS kind FROM r)"
        " SELECT count(*) AS events, count(chain_hash) AS chained,"
        " count(*) FILTER (WHERE chain_hash IS NULL AND NOT chained_before) AS before_chain,"
        " coalesce(jsonb_agg(jsonb_build_array(kind, originator_id, originator_version, notification_id))"
        " FILTER (WHERE kind IS NOT NULL), '[]') AS problems,"
        " (SELECT count(*) FROM {chain} c WHERE {where_c}) AS hashes FROM k"
    ).format(link=sql.SQL(link_sql("lag(chain_hash) OVER w", "e")), **_where(table, upper, one, many))


def _orphans(table: str, upper: bool, one: bool = False, many: bool = False) -> sql.Composed:
    """The hashes of the share whose event is gone, as problems ``missing`` (position None)."""
    return sql.SQL(
        "SELECT coalesce(jsonb_agg(jsonb_build_array('missing', c.originator_id, c.originator_version, NULL)), '[]')"
        " FROM {chain} c WHERE {where_c} AND NOT EXISTS (SELECT 1 FROM {table} e"
        " WHERE e.originator_id = c.originator_id AND e.originator_version = c.originator_version)"
    ).format(**_where(table, upper, one, many))


def _check(conn: Any, table: str, params: dict[str, Any], upper: bool = False, **kind: bool) -> tuple[Any, ...]:
    """One query's answer as (events, chained, before the chain, problems), the orphaned hashes read only when
    the count of hashes says there are some."""
    row = conn.execute(_query(table, upper, **kind), params).fetchone()
    events, chained, before, problems, hashes = tuple(row.values()) if isinstance(row, dict) else row
    if hashes > chained:
        found = conn.execute(_orphans(table, upper, **kind), params).fetchone()
        problems = [*problems, *(tuple(found.values()) if isinstance(found, dict) else found)[0]]
    return events, chained, before, problems


def _session(conn: Any) -> None:
    """A check's session: a share's sort stays in memory; no JIT (a share's query runs a few hundred ms, and an
    index-scan plan costed past jit_above_cost spent ~50 ms of it compiling)."""
    conn.execute(f"SET work_mem = '{WORK_MEM}'")
    conn.execute("SET jit = off")


def _add(report: Report, row: Any) -> None:
    """Add one share's answer (``_check``) to ``report``."""
    events, chained, before, problems = row
    report.events += events
    report.chained += chained
    report.before_chain += before
    seen: set[str] = set()
    for kind, stream, version, position in sorted(problems, key=lambda p: (p[1], p[2])):
        if stream not in seen:  # the first broken link of each stream
            seen.add(stream)
            report.broken.append(Broken(kind, stream, version, position))


def verify(url: str, table: str, progress: Any = None, shares: int = SHARES, workers: int = 2) -> Report:
    """Check every stream of ``table`` (shares of the stream ids, ``workers`` connections at once); ``progress``:
    a projections.rebuild.progress.Progress (its total: the events)."""
    report = Report()

    def share(n: int) -> Any:
        lo, hi = _bounds(n, shares)
        with psycopg.connect(url) as conn:
            _session(conn)
            return _check(conn, table, {"lo": lo, "hi": hi}, hi is not None)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, row in enumerate(pool.map(share, range(shares)), start=1):
            _add(report, row)
            if progress is not None:
                progress.update(done, report.events)
    report.broken.sort(key=lambda b: (b.stream, b.version))
    return report


def verify_streams(url: str, table: str, streams: list[Any], batch: int = 2_000) -> Report:
    """Check the given streams (a workspace's), ``batch`` stream ids per query."""
    report = Report()
    ids = sorted({str(s) for s in streams})
    with psycopg.connect(url) as conn:
        _session(conn)
        for start in range(0, len(ids), batch):
            _add(report, _check(conn, table, {"ids": ids[start : start + batch]}, many=True))
    report.broken.sort(key=lambda b: (b.stream, b.version))
    return report


def verify_stream(conn: psycopg.Connection[Any], table: str, stream: object) -> Report:
    """Check one stream (a conversation's, for its export)."""
    report = Report()
    _add(report, _check(conn, table, {"lo": str(stream)}, one=True))
    return report
