"""What stripping the self-assessment trailer and computing the combined confidence cost per reply.

    .venv/bin/python -m bench.trailer_filter [--replies 2000] [--words 200]

Streams a reply of ``--words`` words in word deltas (as the providers send them) followed by the trailer
through ``commands.ai.trailer.TrailerFilter``, then parses it and computes the confidence over the starter help
centre (``domain.assessment.assess``); prints microseconds per reply for each step (best of five rounds; the
filter's figure is net of joining the deltas, which the orchestrator does anyway).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from commands.ai.trailer import TrailerFilter
from commands.create_workspace.defaults import DEFAULT_KNOWLEDGE
from domain.assessment import assess
from domain.retrieval import Document, Index


def best(fn: Callable[[], None], runs: int, repeats: int = 5) -> float:
    """The fastest of ``repeats`` rounds of ``runs`` calls, in seconds per call (the least disturbed round)."""
    rounds = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(runs):
            fn()
        rounds.append((time.perf_counter() - started) / runs)
    return min(rounds)


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--words", type=int, default=200)
    args = parser.parse_args()
    answer = " ".join(["Open Settings, then Security, and turn on two-factor authentication."] * (args.words // 9))
    raw = answer + "\n\n<confidence>0.82</confidence><topic>Passwords & Auth</topic>"
    deltas = re.findall(r"\S+\s*|\s+", raw)
    docs = [Document(s["id"], " ".join([s["title"], *s["keywords"], s["text"]]), s["text"]) for s in DEFAULT_KNOWLEDGE]
    index = Index(docs)

    def strip() -> None:
        trailer = TrailerFilter()
        shown = "".join(trailer.feed(d) for d in deltas)
        trailer.close()
        assert shown == answer and trailer.assessment.confidence == 0.82

    def baseline() -> None:
        "".join(d for d in deltas)

    def score() -> None:
        assess("How do I turn on 2FA?", answer, index, 0.82)

    filtering, joining, scoring = (best(fn, args.replies) for fn in (strip, baseline, score))
    print(f"{len(deltas)} deltas per reply, {args.replies} replies")
    added = filtering - joining
    print(f"strip + parse trailer: {added * 1e6:.1f} us per reply ({added / len(deltas) * 1e6:.2f} us per delta)")
    print(f"combined confidence:   {scoring * 1e6:.1f} us per reply")


if __name__ == "__main__":
    main()
