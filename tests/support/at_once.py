"""Start the same thing in several threads at the same moment (processes starting together, as replicas do)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(n: int, start: Callable[[], T]) -> tuple[list[T], list[Exception]]:
    """Call ``start`` in ``n`` threads released together by a barrier: what they returned, and what they raised."""
    barrier, results, errors = threading.Barrier(n), [], []

    def run() -> None:
        barrier.wait()
        try:
            results.append(start())
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors
