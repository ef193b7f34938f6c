"""Benchmark: what an email costs a request (the outbox INSERT + NOTIFY), and how fast the worker's mail sender
delivers over real SMTP on loopback (an aiosmtpd server, as in the tests).

    .venv/bin/python -m bench.mail_outbox --messages 1000
    .venv/bin/python -m bench.mail_outbox --database-url postgresql://postgres@127.0.0.1:5432/postgres

Creates a throwaway database, applies the migrations, queues --messages invitations one after the other from one
thread (p50 / p99 / max of each `MailOutbox.queue`), then runs `MailSender.send_due` passes until every message is
sent and reports messages per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from chatassist.migrate import migrate
from commands._mail import MailOutbox
from tests.fakes.smtp import FakeSmtp
from tests.support.services import throwaway_database
from workers.mail import MailSender, SmtpSettings


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    expires = datetime.now(UTC) + timedelta(days=7)
    with throwaway_database(args.database_url) as url, FakeSmtp() as smtp:
        migrate(url)
        outbox = MailOutbox(url)
        took = []
        for i in range(args.messages):
            began = time.perf_counter()
            outbox.send_invite(f"bench-{i}@example.com", f"http://127.0.0.1/accept-invite?token=t{i}", expires,
                               inviter="Ada", workspace="Bench", role="agent", workspace_id=uuid4())  # fmt: skip
            took.append((time.perf_counter() - began) * 1000)
        sender = MailSender(url, SmtpSettings("127.0.0.1", smtp.port, "bench@example.com", security="none"))
        began = time.perf_counter()
        sent = 0
        while sent < args.messages:
            sent += sender.send_due()
        elapsed = time.perf_counter() - began
        outbox.close()
        assert len(smtp.received) == args.messages
    print(json.dumps({
        "messages": args.messages,
        "queue_ms": {"p50": round(statistics.median(took), 2), "p99": round(pct(took, 0.99), 2),
                     "max": round(max(took), 2)},
        "sent_per_s": round(args.messages / elapsed, 1),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
