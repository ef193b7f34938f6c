"""The export of a date range streams in constant memory (issue 17 item 4): the peak of Python allocations while
exporting a range of N conversations, for a small and a ten times larger N.

A throwaway database gets a workspace seeded with conversations over the last days (chatassist/seed.py, through the
aggregates), the transcripts view rebuilt, then every conversation of the range is exported as JSON Lines and as
Markdown (commands/replay_conversation/range_export.py, as the API streams it) with each chunk dropped as it is made;
``tracemalloc`` gives the peak. Constant memory: the peak stays about the same while the output grows tenfold.
Each export is also run once more in a fresh process of its own (``--export-only``), whose peak resident set size
(``ru_maxrss``) after the bootstrap and after the export is reported (``rss``): the whole process, not only Python's
allocations. ``--sizes 40,400,1200`` measures more than two sizes.

    .venv/bin/python -m bench.range_export --server-url postgresql://postgres@127.0.0.1:5432/postgres \
        [--small 40] [--large 400] [--sizes 40,400,1200]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
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


def max_rss_mib() -> float:
    """This process's peak resident set size so far (KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_now_mib() -> float:
    """This process's resident set size now (Linux: VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return round(kib / 1024, 1)


def export_only(args: argparse.Namespace, redis_url: str) -> None:
    """The ``--export-only`` process: bootstrap, export the range in one format (each chunk dropped), print the peak
    RSS after the bootstrap and after the export."""
    container = bootstrap(Settings(database_url=args.database_url, redis_url=redis_url), run_migrations=False)
    try:
        from uuid import UUID

        workspace, span = UUID(args.workspace), export_range(args.from_, args.to)
        pages = conversations_in_range(container.transcripts, workspace, span)
        chunks: Iterator[bytes | str] = (
            range_jsonl(container.app, workspace, pages, personal=True)
            if args.export_only == "jsonl"
            else range_markdown(
                container.app,
                workspace,
                pages,
                lambda c: conversation_trail(container.transcripts, workspace, c),
                (span.since, span.until),
                personal=True,
            )
        )
        booted, before, size = max_rss_mib(), rss_now_mib(), 0
        for chunk in chunks:
            size += len(chunk)
        print(
            json.dumps(
                {
                    "bytes": size,
                    "rss_before_export_mib": before,
                    "rss_after_export_mib": rss_now_mib(),
                    "peak_rss_after_bootstrap_mib": booted,
                    "peak_rss_mib": max_rss_mib(),
                }
            )
        )
    finally:
        container.close()


def rss_of(url: str, workspace: Any, span: Any, fmt: str) -> dict[str, Any]:
    """Peak RSS of a fresh process exporting the range in ``fmt``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.range_export", "--export-only", fmt, "--database-url", url,
         "--workspace", str(workspace), "--from", span.since.isoformat(), "--to", span.until.isoformat()],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url")
    p.add_argument("--small", type=int, default=40)
    p.add_argument("--large", type=int, default=400)
    p.add_argument("--sizes", help="comma-separated conversation counts (instead of --small and --large)")
    p.add_argument("--export-only", choices=("jsonl", "md"), help=argparse.SUPPRESS)
    p.add_argument("--database-url", help=argparse.SUPPRESS)
    p.add_argument("--workspace", help=argparse.SUPPRESS)
    p.add_argument("--from", dest="from_", help=argparse.SUPPRESS)
    p.add_argument("--to", help=argparse.SUPPRESS)
    args = p.parse_args()
    redis_url = os.environ.get("CHATASSIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.export_only:
        export_only(args, redis_url)
        return
    if not args.server_url:
        p.error("--server-url is required")
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.small, args.large]
    report: dict[str, Any] = {"load_average": os.getloadavg()}
    with throwaway_database(args.server_url) as url:
        container = bootstrap(Settings(database_url=url, redis_url=redis_url))
        try:
            now = datetime.now(UTC)
            workspace = None
            span = export_range(
                (now - timedelta(days=20)).date().isoformat(), (now + timedelta(days=1)).date().isoformat()
            )
            have = 0
            for total in sizes:
                label = str(total)
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
                have = total
                rss = {fmt: rss_of(url, workspace, span, fmt) for fmt in ("jsonl", "md")}
                report[label] = {"conversations": count, "jsonl": jsonl, "md": md, "rss": rss}
                print(json.dumps({label: report[label]}), flush=True)
        finally:
            container.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
