"""The export of a date range streams in constant memory (issue 17 item 4): the peak of Python allocations while
exporting a range of N conversations, for a small and a ten times larger N.

A throwaway database gets a workspace seeded with conversations over the last days (chatassist/seed.py, through the
aggregates), the transcripts view rebuilt, then every conversation of the range is exported as JSON Lines and as
Markdown (commands/replay_conversation/range_export.py, as the API streams it) with each chunk dropped as it is made;
``tracemalloc`` gives the peak. Constant memory: the peak stays about the same while the output grows tenfold.

    .venv/bin/python -m bench.range_export --server-url postgresql://postgres@127.0.0.1:5432/postgres \
        [--small 40] [--large 400]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from chatassist.bootstrap import bootstrap
from chatassist.rebuild import rebuild
from chatassist.seed import SeedPlan, seed
from chatassist.settings import Settings
from commands.replay_conversation.range_export import range_jsonl, range_markdown
from read_api.get_conversation_trail.query import conversation_trail
from read_api.get_conversations_in_range.query import conversations_in_range, export_range
from tests.support.services import throwaway_database


def measure(chunks: Iterator[bytes | str]) -> dict[str, Any]:
    """Drain ``chunks`` (each dropped at once); the output's size, the seconds and the allocation peak."""
    tracemalloc.start()
    started, size = time.perf_counter(), 0
    for chunk in chunks:
        size += len(chunk)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"bytes": size, "seconds": round(seconds, 1), "peak_kib": round(peak / 1024)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url", required=True)
    p.add_argument("--small", type=int, default=40)
    p.add_argument("--large", type=int, default=400)
    args = p.parse_args()
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    report: dict[str, Any] = {"load_average": os.getloadavg()}
    with throwaway_database(args.server_url) as url:
        container = bootstrap(Settings(database_url=url, redis_url=redis_url))
        try:
            now = datetime.now(UTC)
            workspace = None
            span = export_range(
                (now - timedelta(days=20)).date().isoformat(), (now + timedelta(days=1)).date().isoformat()
            )
            for label, total in (("small", args.small), ("large", args.large)):
                have = report.get("small", {}).get("conversations", 0)
                made = seed(
                    container.app, SeedPlan(conversations=total - have, days=14, workspace_id=workspace, bulk=True)
                )
                workspace = made.workspace_id
                rebuild(container, "transcripts", stream=io.StringIO())
                count = sum(len(page) for page in conversations_in_range(container.transcripts, workspace, span))
                pages = conversations_in_range(container.transcripts, workspace, span)  # read as the export goes
                jsonl = measure(range_jsonl(container.app, workspace, pages, personal=True))
                md = measure(
                    range_markdown(
                        container.app,
                        workspace,
                        conversations_in_range(container.transcripts, workspace, span),
                        lambda c, w=workspace: conversation_trail(container.transcripts, w, c),
                        (span.since, span.until),
                        personal=True,
                    )
                )
                report[label] = {"conversations": count, "jsonl": jsonl, "md": md}
                print(json.dumps({label: report[label]}), flush=True)
        finally:
            container.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
