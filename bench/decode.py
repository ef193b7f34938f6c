"""Micro-benchmark: microseconds per stored event to decode its state and to map it to a domain event.

    .venv/bin/python -m bench.decode [--events 20000] [--repeat 7] [--cipher [TOPIC]] [--memory]

Writes --events realistic events (bench/events.py: workspaces, then conversations driven through the aggregates'
methods and saved in bulk) with the library's transcoder, on a throwaway database of the PostgreSQL server in
CHATASSIST_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres), or in memory with --memory;
reads every stored record back; then times, best of --repeat passes over all of them, in this thread's CPU time
(so that other processes on a shared machine inflate the figures less than they would wall-clock time):

- ``decode``: the transcoder alone on each state, the library's ``JSONTranscoder`` and ``FastJSONTranscoder``;
- ``to_domain_event``: the Mapper's whole path as a projection page or an aggregate load runs it (decrypt when
  --cipher, decode, upcast, construct), with an app on each transcoder. --cipher alone is the AES cipher bootstrap
  configures for CHATASSIST_EVENT_ENCRYPTION_KEY; --cipher eventsourcing.cipher:AESCipher is the older one.

Before timing, every record is checked to decode and map alike (same values, same types) with both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.cipher import AESCipher

from bench.events import fill
from chatassist.bootstrap import EVENT_CIPHER_TOPIC, eventsourcing_env
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from tests.support.every_event import same
from tests.support.services import throwaway_database

LIBRARY = {"TRANSCODER_TOPIC": "eventsourcing.persistence:JSONTranscoder"}


@contextmanager
def store_env(memory: bool, cipher: str | None) -> Iterator[dict[str, str]]:
    """The eventsourcing environment of a new, empty store (with the AES cipher of topic ``cipher``)."""
    key = {"CIPHER_TOPIC": cipher, "CIPHER_KEY": AESCipher.create_key(32)} if cipher else {}
    if memory:
        yield {"PERSISTENCE_MODULE": "eventsourcing.popo", **key}
        return
    server = os.environ.get("CHATASSIST_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with throwaway_database(server) as url:
        yield {**eventsourcing_env(Settings(database_url=url, db_pool_size=2), url), **key}


def best_us_per_item(fn: Callable[[Any], Any], items: Sequence[Any], repeat: int) -> float:
    """The fastest of ``repeat`` passes of ``fn`` over ``items``, in microseconds of CPU time per item."""
    best = float("inf")
    for _ in range(repeat):
        started = time.thread_time_ns()
        for item in items:
            fn(item)
        best = min(best, time.thread_time_ns() - started)
    return best / len(items) / 1000


def main() -> None:
    """Fill, read back, check, time; print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--cipher", nargs="?", const=EVENT_CIPHER_TOPIC, help="store the events encrypted (AES-GCM) by this cipher"
    )
    parser.add_argument("--memory", action="store_true", help="an in-memory store instead of PostgreSQL")
    args = parser.parse_args()
    with store_env(args.memory, args.cipher) as env:
        writer = ChatAssistApp(env={**env, **LIBRARY})
        library, fast = ChatAssistApp(env={**env, **LIBRARY}), ChatAssistApp(env=env)
        try:
            written = fill(writer, args.events)
            records = library.recorder.select_notifications(start=None, limit=written + 1000)
        finally:
            writer.close()
        cipher = library.mapper.cipher
        states = [cipher.decrypt(r.state) if cipher else r.state for r in records]
        for record, state in zip(records, states, strict=True):
            expected, got = library.mapper.transcoder.decode(state), fast.mapper.transcoder.decode(state)
            assert same(expected, got), record.topic
            assert same(vars(library.mapper.to_domain_event(record)), vars(fast.mapper.to_domain_event(record)))
        figures = {
            "decode_library_us": best_us_per_item(library.mapper.transcoder.decode, states, args.repeat),
            "decode_fast_us": best_us_per_item(fast.mapper.transcoder.decode, states, args.repeat),
            "to_domain_event_library_us": best_us_per_item(library.mapper.to_domain_event, records, args.repeat),
            "to_domain_event_fast_us": best_us_per_item(fast.mapper.to_domain_event, records, args.repeat),
        }
        library.close()
        fast.close()
    mix = Counter(r.topic.rpartition(".")[2] for r in records)
    summary = {
        "events": len(records),
        "store": "memory" if args.memory else "postgresql",
        "cipher": args.cipher,
        "mean_state_bytes": round(sum(map(len, states)) / len(states)),
        "mix": dict(mix.most_common()),
        **{name: round(us, 2) for name, us in figures.items()},
        "decode_speedup": round(figures["decode_library_us"] / figures["decode_fast_us"], 2),
        "to_domain_event_speedup": round(figures["to_domain_event_library_us"] / figures["to_domain_event_fast_us"], 2),
    }
    print(json.dumps(summary, indent=2))
    print(f"checked {len(records):,} records: both transcoders decode and map them alike", file=sys.stderr)


if __name__ == "__main__":
    main()
