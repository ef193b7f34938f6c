"""Run `chatassist web` with perf_counter spans around a chat turn's phases; dump them at exit (a profiling aid).

    .venv/bin/python -m bench.chat_turn_cpu --web-prefix ".venv/bin/python -m bench.chat_turn_spans"
    .venv/bin/python -m bench.chat_turn_spans --report /tmp/chat-turn-spans-<pid>.json [FROM_EPOCH TO_EPOCH]

As a prefix of the web command (``python -m chatassist.cli web ...``) it wraps, in that process only: the message's
save and its knowledge search (``receive.execute``, ``ChatService.search``), each escalation decision, the reply's
assessment and topic, the model call (to its first event and to ``Finished``), the reply's save
(``record.execute``), the event store's append (``OneTripRecorder.insert_events``: the statement and its commit),
the sealing mapper, the data-key statements, and every worker-thread hop (``ChatService.run``); each span records
wall and thread CPU time. ``SPANS_OUT`` names the dump (default ``/tmp/chat-turn-spans-<pid>.json``). ``--report``
prints per-turn sums between two epoch times (``bench.chat_turn_cpu`` prints each run's window). The wrappers cost a
few microseconds per span: use CPU figures from runs without them.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import runpy
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

RECORDS: list[tuple[float, str, float, float]] = []


def _sync(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            RECORDS.append((time.time(), label, time.perf_counter() - wall, time.thread_time() - cpu))

    setattr(owner, name, wrapped)


def install() -> None:
    """Wrap the phases (imports the web process's modules)."""
    import commands.chat_turn.service as svc
    import commands.receive_message.cmd as receive
    import commands.record_reply.cmd as record
    from commands._store import OneTripRecorder
    from commands._widget_security import WidgetGuard
    from commands.application import ChatAssistApp
    from commands.personal_data.keys import PersonalKeys
    from commands.personal_data.seal import SealingMapper

    for owner, name, label in [
        (receive, "execute", "message saved (receive.execute)"),  # the seeder's and CLI's path
        (receive, "decide", "message decided (receive.decide)"),
        (receive, "commit", "message saved (receive.commit)"),  # the chat turn's, beside the search (ADR 0069)
        (receive, "current", "held copy checked (receive.current, in the save's thread)"),
        (record, "execute", "reply saved (record.execute)"),
        (svc.ChatService, "search", "knowledge search"),
        (svc, "decide_escalation", "escalation decision"),
        (svc, "judge", "reply assessment and topic"),
        (OneTripRecorder, "insert_events", "event-store append (statement + commit)"),
        (SealingMapper, "to_stored_event", "mapper (sealing, encoding)"),
        (PersonalKeys, "create", "data key created"),
        (PersonalKeys, "get", "data key read"),
        (ChatAssistApp, "save", "app.save"),
        (WidgetGuard, "policy", "widget policy"),
    ]:
        _sync(owner, name, label)
    run, orchestrate, answer = svc.ChatService.run, svc.orchestrate, svc.ChatService.answer

    async def hop(self: Any, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return await run(self, fn, *args)
        finally:
            RECORDS.append((time.time(), f"hop: {getattr(fn, '__name__', fn)}", time.perf_counter() - started, 0.0))

    async def model(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        started, first = time.perf_counter(), True
        async for event in orchestrate(*args, **kwargs):
            if first:
                RECORDS.append((time.time(), "model call: first event", time.perf_counter() - started, 0.0))
                first = False
            if type(event).__name__ in ("Finished", "GaveUp"):
                RECORDS.append((time.time(), "model call: to Finished", time.perf_counter() - started, 0.0))
            yield event

    async def turn(self: Any, begun: Any) -> AsyncIterator[Any]:
        started = time.perf_counter()
        async for event in answer(self, begun):
            yield event
        RECORDS.append((time.time(), "answer: start to done", time.perf_counter() - started, 0.0))

    svc.ChatService.run = hop  # type: ignore[method-assign]
    svc.orchestrate = model  # type: ignore[assignment]
    svc.ChatService.answer = turn  # type: ignore[method-assign]


def report(path: str, start: float = 0.0, end: float = float("inf")) -> None:
    """Per-turn sums of each span between ``start`` and ``end`` (epoch seconds)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for at, label, wall, cpu in json.loads(open(path).read()):  # noqa: SIM115
        if start <= at <= end:
            spans.setdefault(label, []).append((wall, cpu))
    turns = len(spans.get("answer: start to done", [])) or 1
    print(f"turns: {turns}")
    for label, values in sorted(spans.items(), key=lambda kv: -sum(w for w, _ in kv[1])):
        walls = [w for w, _ in values]
        cpu_ms = sum(c for _, c in values) / turns * 1e3
        print(
            f"{label:44s} n/turn {len(values) / turns:5.2f}  wall/turn {sum(walls) / turns * 1e3:7.3f} ms"
            f"  p50 {statistics.median(walls) * 1e3:7.3f} ms  CPU/turn {cpu_ms:7.3f} ms"
        )


def main() -> None:
    """``--report FILE [FROM TO]``, or run the command after this module's name with the spans installed."""
    if sys.argv[1:2] == ["--report"]:
        report(sys.argv[2], *(float(x) for x in sys.argv[3:5]))
        return
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "-m":
        raise SystemExit("usage: python -m bench.chat_turn_spans PYTHON -m chatassist.cli web ...")
    out = os.environ.get("SPANS_OUT", f"/tmp/chat-turn-spans-{os.getpid()}.json")
    atexit.register(lambda: open(out, "w").write(json.dumps(RECORDS)))  # noqa: SIM115
    sys.argv = [args[2], *args[3:]]
    install()
    runpy.run_module(args[2], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
