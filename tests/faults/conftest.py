"""The fault matrix's stack (tests/faults/stack.py), started once for the module, and its report."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import report
from tests.faults.stack import Stack, environment_note, poll

RUNNERS_SESSION = "SELECT 1 FROM pg_stat_activity WHERE application_name = %s"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """Our own PostgreSQL and Redis, the fake providers, two web processes, a worker and a projections replica."""
    with tempfile.TemporaryDirectory(prefix="ca-faults-") as tmp:  # short: the servers' sockets live in it
        running = Stack(Path(tmp))
        try:
            running.start()
            report.NOTES.append(
                f"The stack held {running.connections()} connections on its PostgreSQL once started "
                "(4 processes, CHATASSIST_DB_POOL_SIZE=2); the test session's own server none."
            )
            yield running
        finally:
            running.close()


@pytest.fixture
def healthy(stack: Stack) -> Stack:
    """The stack as a scenario starts: every process running (a previous scenario may have killed one), both web
    processes answering, the fake providers answering every request."""
    for process in stack.processes.values():
        if not process.alive():
            assert process.killed, f"{process.name} exited by itself\n{process.tail()}"
            process.start()
            if process.name in ("projections", "worker"):  # up (its runners' session open) before a fault is made
                poll(
                    lambda p=process: stack.query(RUNNERS_SESSION, f"chatassist projection runners pid {p.pid}"),
                    180,
                    f"{process.name} running again",
                )
    for name in ("web-a", "web-b"):
        stack.wait_healthy(name)
    stack.fake.reset()
    return stack


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write docs/reliability.md when asked to and every scenario of the matrix passed."""
    path = report.target()
    if path is None:
        return
    from tests.faults.test_fault_matrix import SCENARIOS

    recorded = {row.order for row in report.ROWS}
    if exitstatus == 0 and recorded == set(range(1, SCENARIOS + 1)):
        report.write(path, environment_note())
    else:
        print(f"\n{report.REPORT_ENV}: not written ({len(recorded)} of {SCENARIOS} scenarios recorded)")
