"""Sum up the plans auto_explain logged for one database: per statement, how often it ran, its time and the rows
its plan examined (rows returned by each node plus rows removed by filters). A companion of bench.idle_cpu and
bench.chat_turns run with ``auto_explain`` (docs/performance.md, "Session 8"):

    .venv/bin/python -m bench.explain_log /var/log/postgresql/postgresql-15-main.log --database chatassist_bench \
        --since "2026-12-07 15:00:00"
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from dataclasses import dataclass, field

HEAD = re.compile(r"^(\S+ \S+) UTC \[(\d+)\] \S+@(\S+) LOG:  duration: ([\d.]+) ms  plan:")
ROWS = re.compile(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)")
REMOVED = re.compile(r"Rows Removed by (?:Filter|Index Recheck|Join Filter): (\d+)")


@dataclass
class Seen:
    """What the log says of one statement."""

    runs: int = 0
    ms: list[float] = field(default_factory=list)
    examined: list[int] = field(default_factory=list)


def parse(path: str, database: str, since: str) -> dict[str, Seen]:
    """Statement text (whitespace folded) -> what its logged plans say."""
    seen: dict[str, Seen] = defaultdict(Seen)
    current: tuple[float, list[str]] | None = None

    def close() -> None:
        if current is None:
            return
        ms, lines = current
        text = next((ln.split("Query Text:", 1)[1] for ln in lines if "Query Text:" in ln), "?")
        examined = sum(int(r) * int(n) for ln in lines for r, n in ROWS.findall(ln))
        examined += sum(int(r) for ln in lines for r in REMOVED.findall(ln))
        entry = seen[" ".join(text.split())[:400]]
        entry.runs += 1
        entry.ms.append(ms)
        entry.examined.append(examined)

    with open(path, errors="replace") as log:
        for line in log:
            head = HEAD.match(line)
            if head:
                close()
                current = (float(head[4]), []) if head[3] == database and head[1] >= since else None
            elif current is not None and (line.startswith(("\t", " ")) or "Query Text:" in line):
                current[1].append(line.rstrip())
            elif current is not None and re.match(r"^\d{4}-\d\d-\d\d ", line):
                close()
                current = None
    close()
    return seen


def main() -> None:
    """Print one line per statement, the most costly first."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log")
    p.add_argument("--database", required=True)
    p.add_argument("--since", default="", help="log time (UTC) from which to read, as the log writes it")
    args = p.parse_args()
    seen = parse(args.log, args.database, args.since)
    for text, s in sorted(seen.items(), key=lambda kv: -sum(kv[1].ms)):
        ordered = sorted(s.ms)
        print(
            f"{s.runs:6d} runs  total {sum(s.ms):9.1f} ms  p50 {ordered[len(ordered) // 2]:8.3f} ms"
            f"  max {ordered[-1]:8.2f} ms  rows examined max {max(s.examined):9d}  {text}"
        )


if __name__ == "__main__":
    main()
