"""Measurement: what checking a pooled session on checkout costs (chatassist/pools.py, ``ended_by_server``).

    .venv/bin/python -m bench.checkout_check --checkouts 20000

Takes and returns a connection of a one-connection pool ``--checkouts`` times, then does the same with a
``SELECT 1`` on each, for three pools on CHATASSIST_TEST_DATABASE_URL's server: no check, our check (one poll of the
socket), and psycopg_pool's pre-ping (``check=ConnectionPool.check_connection``: an empty query, one round trip; what
eventsourcing's POSTGRES_PRE_PING sets). Prints the microseconds per checkout of each.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from psycopg_pool import ConnectionPool

from chatassist.pools import ended_by_server


class Checked(ConnectionPool):
    """A pool whose checkout runs our check (as BoundedPool.getconn does)."""

    def getconn(self, timeout: float | None = None) -> Any:
        conn = super().getconn(timeout)
        assert not ended_by_server(conn)
        return conn


def per_checkout_us(pool: ConnectionPool, n: int, query: bool) -> float:
    """Microseconds per checkout (and ``SELECT 1`` when ``query``), best of three runs."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            with pool.connection() as conn:
                if query:
                    conn.execute("SELECT 1")
        best = min(best, time.perf_counter() - started)
    return round(best / n * 1e6, 1)


def main() -> None:
    """Run the measurement and print a report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", type=int, default=20000)
    args = parser.parse_args()
    url = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    pools = {
        "no check": ConnectionPool(url, min_size=1, max_size=1, kwargs={"autocommit": True}, open=True),
        "poll of the socket (ours)": Checked(url, min_size=1, max_size=1, kwargs={"autocommit": True}, open=True),
        "pre-ping (empty query)": ConnectionPool(
            url, min_size=1, max_size=1, kwargs={"autocommit": True}, check=ConnectionPool.check_connection, open=True
        ),
    }
    report: dict[str, Any] = {}
    for name, pool in pools.items():
        pool.wait()
        report[name] = {
            "checkout_us": per_checkout_us(pool, args.checkouts, query=False),
            "checkout_and_select_1_us": per_checkout_us(pool, args.checkouts // 4, query=True),
        }
        pool.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
