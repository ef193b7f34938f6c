"""What the offline escalation and topic decision costs per chat turn (issue 16: p99 under 2 ms).

    .venv/bin/python -m bench.decisions [--rounds 5]

Replays every conversation of the corpus (domain/data/decisions) turn by turn, as the chat turn calls the engine:
turn k decides on the visitor's first k messages. Prints the one-off training time of the classifiers (the first
decision of a process pays it), then per-turn latency percentiles over all rounds, and the same for a long
conversation (40 messages of ~300 characters) and a 4,000-character message.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from domain.decisions import corpus
from domain.decisions.model import intent_model, person_model, topic_model
from domain.escalation import decide


def percentiles(samples: list[float]) -> str:
    """p50 / p90 / p99 / max in milliseconds."""
    ordered = sorted(samples)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"p50 {pick(0.5):.3f}  p90 {pick(0.9):.3f}  p99 {pick(0.99):.3f}  max {ordered[-1] * 1000:.3f} ms"


def measure(calls: list[list[str]]) -> tuple[list[float], list[float]]:
    """Wall and CPU (this thread's) seconds of each decision. On a shared machine the wall figure includes
    waiting for a core; the CPU figure is the engine's own cost."""
    wall, cpu = [], []
    for messages in calls:
        w, c = time.perf_counter(), time.thread_time()
        decide(messages)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - w)
    return wall, cpu


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    started = time.perf_counter()
    examples = corpus.load()
    intent_model(), person_model(), topic_model()
    print(f"corpus load + training of the three classifiers: {(time.perf_counter() - started) * 1000:.0f} ms")
    turns = [list(e.messages[: k + 1]) for e in examples for k in range(len(e.messages))]
    wall, cpu = measure(turns * args.rounds)
    print(f"corpus, {len(turns)} turns x {args.rounds} rounds\n  wall {percentiles(wall)}\n  cpu  {percentiles(cpu)}")
    print(f"  mean cpu {statistics.fmean(cpu) * 1000:.3f} ms")
    # a 40-message conversation decided turn by turn (earlier messages were read on earlier turns)
    chat = [f"{e.messages[0]} {e.messages[-1]} (turn {i})" for i, e in enumerate(examples[::20][:40])]
    wall, cpu = measure([chat[: k + 1] for k in range(len(chat))] * args.rounds)
    print(f"40-message conversation, turn by turn\n  wall {percentiles(wall)}\n  cpu  {percentiles(cpu)}")
    # the worst case: a 4,000-character message never seen before, each time
    huge = [f"{n} " + ("my account is broken and nobody helps. " * 110)[:3990] for n in range(20 * args.rounds)]
    wall, cpu = measure([[h] for h in huge])
    print(f"a new 4,000-character message\n  wall {percentiles(wall)}\n  cpu  {percentiles(cpu)}")


if __name__ == "__main__":
    main()
