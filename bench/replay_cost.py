"""What an audit replay of a 50-turn conversation costs (issue 17: under 20 ms), on a real PostgreSQL.

A throwaway database gets one workspace and one conversation written through the aggregate as a live chat writes it
(one save per step): ``--turns`` visitor messages, each answered after one model call (every fifth after a fallback:
two calls), an escalation offer every tenth turn, and a claim, an agent's reply and a return to the AI half way.
Then, ``--runs`` times each, timed in this process (the store read, the decoding and the fold; no HTTP):

- ``state_now``: ``state_at`` with no point (every event read and folded by the aggregate);
- ``state_at_version``: ``state_at(at_version=half)`` (every event read, half folded);
- ``events_all``: ``events_page`` of every event (limit 500): what GET .../events returns;
- ``request_last``: ``rebuild`` of the last model call's request and its hash check.

    .venv/bin/python -m bench.replay_cost --server-url postgresql://postgres@127.0.0.1:5432/postgres \
        --redis-url redis://127.0.0.1:6379/9
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import uuid4

from chatassist.bootstrap import bootstrap
from chatassist.settings import Settings
from commands.ai.base import PromptRequest
from commands.ai.request import sha256
from commands.chat_turn.service import prepare
from commands.create_workspace import cmd as create_ws
from commands.replay_conversation.events import events_page
from commands.replay_conversation.request import rebuild
from commands.replay_conversation.state import state_at
from domain.conversation import Conversation, ModelCall
from domain.escalation import Decision
from domain.workspace import Workspace
from tests.support.services import throwaway_database


def write_conversation(app: Any, workspace: Workspace, turns: int) -> Conversation:
    """A conversation of ``turns`` answered visitor messages, saved step by step."""
    prep = prepare(workspace, None)
    conversation = Conversation(workspace.id, "widget", {"user_id": "bench-visitor", "email": None, "name": None})
    app.save(conversation)
    for n in range(1, turns + 1):
        message_id = str(uuid4())
        conversation.receive(message_id, f"Question {n}: how do I change setting number {n} of my account?")
        app.save(conversation)
        history = conversation.history(prep.settings.max_history_turns)
        routes = [("anthropic", "claude-sonnet-4-6", "fell_back"), ("openai", "gpt-4.1", "ok")][n % 5 != 0 :]
        for attempt, (provider, model, outcome) in enumerate(routes, start=1):
            request = PromptRequest(model, prep.system, prep.examples, history, prep.settings.max_response_tokens)
            call = ModelCall(str(uuid4()), provider, model, prep.prompt_version, attempt, 1800, 120, 1024, 0,
                             300.0, 900.0, Decimal("0.0042"), outcome, None, sha256(provider, request))  # fmt: skip
            conversation.record_model_call(message_id, call)
        answer = f"Answer {n}: open Settings, then item {n}."
        conversation.reply(str(uuid4()), message_id, answer, confidence=0.8, topic="Account", provider="openai",
                           model="gpt-4.1", prompt_version=prep.prompt_version)  # fmt: skip
        if n % 10 == 0:
            offer = Decision("turn_limit", 3, "offer", f"{n} turns", {"turns": n}, "support", "A person?", "Account")
            conversation.offer_escalation(message_id, offer)
        app.save(conversation)
        if n == turns // 2:
            conversation.claim("bench-agent")
            conversation.agent_reply("bench-agent", str(uuid4()), "A person here: done for you.", "Sam")
            conversation.return_to_ai("bench-agent")
            app.save(conversation)
    return conversation


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    """Milliseconds per call: p50, p95, max (after 5 warm-up calls)."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 2),
        "p95": round(times[int(len(times) * 0.95) - 1], 2),
        "max": round(times[-1], 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server-url", required=True, help="a PostgreSQL server (a throwaway database is made on it)")
    p.add_argument("--redis-url", required=True)
    p.add_argument("--turns", type=int, default=50)
    p.add_argument("--runs", type=int, default=200)
    args = p.parse_args()
    with throwaway_database(args.server_url) as database_url, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(database_url=database_url, redis_url=args.redis_url, data_dir=data_dir, secret_key="bench")
        container = bootstrap(settings)
        try:
            app = container.app
            created = create_ws.execute(app, create_ws.CreateWorkspace("Replay bench"))
            workspace = app.repository.get(created.workspace_id)
            conversation = write_conversation(app, workspace, args.turns)
            ws, cid, last = created.workspace_id, conversation.id, conversation.version
            last_call = [e for e in app.events.get(cid) if type(e).__name__ == "ModelCallMade"][-1]
            checked = rebuild(app, ws, cid, last_call.call_id)
            assert checked.verdict == "match", checked.verdict
            report = {
                "turns": args.turns,
                "events": last,
                "runs": args.runs,
                "ms": {
                    "state_now": timed(lambda: state_at(app, ws, cid), args.runs),
                    "state_at_version": timed(lambda: state_at(app, ws, cid, at_version=last // 2), args.runs),
                    "events_all": timed(lambda: events_page(app, ws, cid, 0, 500), args.runs),
                    "request_last": timed(lambda: rebuild(app, ws, cid, last_call.call_id), args.runs),
                },
            }
        finally:
            container.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
