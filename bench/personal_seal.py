"""What sealing personal fields (crypto-shredding, ADR 0044) adds to a chat turn's append, on a real PostgreSQL.

A throwaway database gets the event store and the migrations. Two apps share it: one seals Conversation events'
personal fields (``SealingMapper`` with the data keys, wrapped by a CHATASSIST_KEYS_ENCRYPTION_KEY), the other stores
them in plain text (its mapper has no keys: the store as it was before). Each starts its own conversations, then
appends chat turns to them (a visitor message, a model call and the reply: three events in one save, as the chat
turn saves its reply), alternately through both apps, in rounds, so load on the machine falls on both alike. The
keys are cached in process (``PersonalKeys.ttl_s``), so a turn of a live conversation reads no key from PostgreSQL
most of the time; the first event of a conversation inserts its key (timed separately: ``start``).

    .venv/bin/python -m bench.personal_seal --server-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

from chatassist.bootstrap import eventsourcing_env
from chatassist.migrate import migrate
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from commands.provider_keys.cipher import generate_key_spec
from domain.conversation import Conversation, ModelCall
from tests.support.services import throwaway_database

QUESTION = "How do I change the e-mail address of my account? I tried the settings page twice. " * 3
ANSWER = "Open Settings, then Account, then E-mail: type the new address and confirm the link we send you. " * 4


def turn(app: ChatAssistApp, conversation: Conversation, n: int) -> float:
    """One chat turn's three events saved at once; seconds."""
    conversation.receive(f"m{n}", QUESTION)
    call = ModelCall(f"c{n}", "anthropic", "claude-sonnet-4-6", 1, 1, 1200, 80, 0, 0, 210.0, 950.0,
                     Decimal("0.0048"), "ok")  # fmt: skip
    conversation.record_model_call(f"m{n}", call)
    conversation.reply(f"r{n}", f"m{n}", ANSWER, confidence=0.9, topic="account", provider="anthropic",
                       model="claude-sonnet-4-6", prompt_version=1)  # fmt: skip
    t0 = time.perf_counter()
    app.save(conversation)
    return time.perf_counter() - t0


def start(app: ChatAssistApp, workspace_id: uuid.UUID) -> tuple[Conversation, float]:
    conversation = Conversation(workspace_id, "widget", {"user_id": uuid.uuid4().hex, "email": "v@example.org"})
    t0 = time.perf_counter()
    app.save(conversation)
    return conversation, time.perf_counter() - t0


def mapper_cost(app: ChatAssistApp, conversation: Conversation, repeat: int = 2000) -> float:
    """Microseconds the mapper takes to encode one turn's three events (no database: the key is cached)."""
    conversation.receive("mx", QUESTION)
    call = ModelCall("cx", "anthropic", "claude-sonnet-4-6", 1, 1, 1200, 80, 0, 0, 210.0, 950.0,
                     Decimal("0.0048"), "ok")  # fmt: skip
    conversation.record_model_call("mx", call)
    conversation.reply("rx", "mx", ANSWER, confidence=0.9, topic="account", provider="anthropic",
                       model="claude-sonnet-4-6", prompt_version=1)  # fmt: skip
    events = conversation.collect_events()
    encode = app.mapper.to_stored_event
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeat):
            for e in events:
                encode(e)
        best = min(best, (time.perf_counter() - t0) / repeat * 1e6)
    return round(best, 1)


def figures(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url", required=True)
    p.add_argument("--conversations", type=int, default=200, help="conversations per app")
    p.add_argument("--turns", type=int, default=3000, help="turns appended through each app")
    p.add_argument("--round", type=int, default=100, help="turns per app before switching")
    args = p.parse_args()
    with throwaway_database(args.server_url) as url:
        migrate(url)
        settings = Settings(database_url=url, db_pool_size=2, keys_encryption_key=generate_key_spec())
        env = eventsourcing_env(settings, url)
        sealed, plain = ChatAssistApp(env=env), ChatAssistApp(env=env)
        plain.mapper.keys = None  # type: ignore[attr-defined]
        ws = uuid.uuid4()
        started: dict[str, list[float]] = {"sealed": [], "plain": []}
        pools: dict[str, list[Conversation]] = {"sealed": [], "plain": []}
        for _ in range(args.conversations):
            for name, app in (("sealed", sealed), ("plain", plain)):
                conversation, seconds = start(app, ws)
                pools[name].append(conversation)
                started[name].append(seconds)
        times: dict[str, list[float]] = {"sealed": [], "plain": []}
        n = 0
        while len(times["sealed"]) < args.turns:
            for name, app in (("plain", plain), ("sealed", sealed)):
                for i in range(args.round):
                    n += 1
                    times[name].append(turn(app, pools[name][i % len(pools[name])], n))
        report: dict[str, Any] = {
            "turn_append": {name: figures(t) for name, t in times.items()},
            "start_append": {name: figures(t) for name, t in started.items()},
        }
        for part in ("turn_append", "start_append"):
            s, q = report[part]["sealed"]["median_ms"], report[part]["plain"]["median_ms"]
            report[part]["added_median_pct"] = round((s - q) / q * 100, 1)
        report["mapper_us_per_turn"] = {
            name: mapper_cost(app, pools[name][0]) for name, app in (("sealed", sealed), ("plain", plain))
        }
        report["conditions"] = {"turns_per_app": args.turns, "conversations_per_app": args.conversations}
        sealed.close()
        plain.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
