"""The fault matrix (issue 12, part 4): scripted faults against the real stack, each a row of docs/reliability.md.

Given the stack of tests/faults/stack.py (separate web, web, worker and projections processes; a PostgreSQL and a
Redis of our own; the fake providers), each scenario injects one fault while visitors chat, then checks what the
visitors saw, that every acknowledged turn is in the event store, that no turn is half-written, and that the read
models applied every event exactly once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.fakes.llm_server import Script
from tests.faults import report
from tests.faults.stack import PROVIDER_TIMEOUT_S, Stack, poll
from tests.faults.turns import Outcome, Store, at_once, chat, tally
from tests.support.accounts import Person, person, unique_email

SCENARIOS = 13
FALLBACK_TEXT = "The fallback model answers this one."
LONG_TEXT = " ".join(f"word{i}" for i in range(24))
SLOW = Script(text=LONG_TEXT, chunks=12, chunk_delay_s=0.1)  # a stream of about 1.2 s


class Account:
    """A workspace of the matrix: its admin (monitor, settings) and its widget key."""

    def __init__(self, stack: Stack, name: str) -> None:
        email = unique_email("faults")
        response = httpx.post(
            stack.url("web-a") + "/api/auth/signup",
            json={"email": email, "password": "tulip-Harbor-92", "name": "Fay Faults", "workspace_name": name},
            timeout=60,
        )
        assert response.status_code == 201, response.text
        body = response.json()
        self.admin: Person = person(email, body["session"])
        self.key: str = body["widget_key"]
        self.workspace_id = uuid.UUID(self.admin.workspace_id)

    def queue(self, stack: Stack) -> list[dict[str, Any]]:
        """The monitor's queue, as an agent's screen reads it."""
        response = httpx.get(
            stack.url("web-a") + "/api/monitor", params={"view": "queue"}, headers=self.admin.headers, timeout=30
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


@pytest.fixture(scope="module")
def account(stack: Stack) -> Account:
    """The workspace most scenarios chat in."""
    return Account(stack, "Faults Inc")


# --- checks every scenario makes ---------------------------------------------------------------------------------


def views_mismatch(stack: Stack, store: dict[uuid.UUID, list[Any]]) -> list[str]:
    """Conversations whose read-model figures differ from the store (a missed or a doubly applied event)."""
    counts: dict[str, tuple[int, int, int]] = {}
    for cid, events in store.items():
        names = Counter(type(e).__name__ for e in events)
        counts[str(cid)] = (names["UserMessageReceived"], names["TurnFailed"], names["ModelCallMade"])
    analytics = {
        str(r[0]): (r[1], r[2], r[3])
        for r in stack.query("SELECT id, turns, failed_turns, model_calls FROM analytics_v2_conversations")
    }
    monitor = {str(r[0]): r[1] for r in stack.query("SELECT id, turns FROM monitor_v1_conversations")}
    wrong = [
        f"analytics {cid}: {analytics.get(cid)} != {want}" for cid, want in counts.items() if analytics.get(cid) != want
    ]
    wrong += [
        f"monitor {cid}: {monitor.get(cid)} != {want[0]}" for cid, want in counts.items() if monitor.get(cid) != want[0]
    ]
    return wrong


def check_store(stack: Stack, outcomes: list[Outcome], views_timeout: float = 120) -> int:
    """Assert that no acknowledged turn is lost, none is half-written, and that the views match the store once the
    runners caught up; returns the number of acknowledged turns."""
    store = Store(stack.database_url)
    lost = store.lost(outcomes)
    assert not lost, f"{len(lost)} acknowledged turns lost: {lost[:3]}"
    half = store.half_written()
    assert not half, half[:5]
    last: list[str] = []

    def matching() -> bool:
        nonlocal last
        last = views_mismatch(stack, store.conversations())
        return not last

    try:
        poll(matching, views_timeout, "the read models match the store", interval=0.5)
    except AssertionError:
        raise AssertionError(f"views differ from the store: {last[:5]}\n{stack.diagnostics()}") from None
    return sum(o.acknowledged for o in outcomes)


def attempts_of(stack: Stack, conversation_id: str | None) -> list[tuple[str, str, str | None]]:
    """(provider, outcome, error kind) of each stored model call of a conversation."""
    assert conversation_id is not None
    events = Store(stack.database_url).conversations()[uuid.UUID(conversation_id)]
    return [(e.provider, e.outcome, e.error_kind) for e in events if type(e).__name__ == "ModelCallMade"]


def described(outcomes: list[Outcome]) -> str:
    """'9 done, 3 error (database_unavailable x3), 1 cut' for the observed column."""
    kinds = tally(outcomes)
    codes = Counter(o.code or f"HTTP {o.status}" for o in outcomes if o.kind == "error")
    parts = []
    for kind in ("done", "error", "cut", "hang"):
        if kinds.get(kind):
            detail = " (" + ", ".join(f"{c} x{n}" for c, n in sorted(codes.items())) + ")" if kind == "error" else ""
            parts.append(f"{kinds[kind]} {kind}{detail}")
    return ", ".join(parts)


# --- 1-5: the primary fails, the fallback answers ---------------------------------------------------------------

PRIMARY_FAULTS = [
    (1, "Anthropic answers 429 (rate limited)", [Script(kind="status", status=429)], 2),
    (2, "Anthropic answers 529 (overloaded)", [Script(kind="status", status=529)], 2),
    (3, "Anthropic answers 500 on every attempt", [Script(kind="status", status=500)] * 3, 4),
    (
        4,
        f"Anthropic times out on every attempt (timeout {PROVIDER_TIMEOUT_S} s)",
        [Script(kind="timeout", delay_s=PROVIDER_TIMEOUT_S * 6)] * 3,
        4,
    ),
    (
        5,
        "Anthropic's stream is cut after 2 deltas on every attempt",
        [Script(kind="break", text=LONG_TEXT, break_after=2)] * 3,
        4,
    ),
]


@pytest.mark.parametrize(
    ("order", "fault", "scripts", "calls"), PRIMARY_FAULTS, ids=["429", "529", "500", "timeout", "cut"]
)
def test_a_failing_primary_falls_back_to_the_other_provider(
    healthy: Stack, account: Account, order: int, fault: str, scripts: list[Script], calls: int
) -> None:
    # Given Anthropic failing as scripted, and OpenAI answering
    healthy.fake.enqueue("anthropic", *scripts)
    healthy.fake.set_default("openai", Script(text=FALLBACK_TEXT))
    # When a visitor asks
    outcome = chat(healthy.url("web-a"), account.key, "How do I export my invoices?", user=f"v-{order}")
    # I expect the answer from OpenAI, every attempt recorded with its outcome
    assert outcome.kind == "done", (outcome, healthy.diagnostics())
    assert (outcome.done["provider"], outcome.done["attempts"]) == ("openai", calls)
    attempts = attempts_of(healthy, outcome.conversation_id)
    assert [a[0] for a in attempts] == ["anthropic"] * (calls - 1) + ["openai"]
    assert attempts[-1][1] == "ok" and all(a[1] in ("error", "fell_back") for a in attempts[:-1])
    if order == 5:  # text had streamed before the cut: the visitor was told to discard it
        assert outcome.restarts >= 1
    acked = check_store(healthy, [outcome])
    kinds = ", ".join(dict.fromkeys(str(a[2]) for a in attempts[:-1]))
    restarts = f", {outcome.restarts} restart event(s)" if outcome.restarts else ""
    report.record(
        order,
        fault,
        "answer from the fallback (OpenAI); every attempt recorded",
        f"done from openai after {calls} attempts ({kinds}{restarts}) in {outcome.seconds:.1f} s",
        acked,
        0,
    )


# --- 6-7: no AI can answer --------------------------------------------------------------------------------------


def queued_for_a_person(stack: Stack, account: Account, outcome: Outcome) -> dict[str, Any]:
    """The monitor queue's row of the outcome's conversation (polled: the monitor is a projection)."""

    def row() -> dict[str, Any] | None:
        return next((i for i in account.queue(stack) if i["id"] == outcome.conversation_id), None)

    found: dict[str, Any] = poll(row, 60, "the conversation in the monitor's queue", interval=0.3)
    return found


def test_both_providers_down_queue_the_conversation_for_a_person(healthy: Stack, account: Account) -> None:
    # Given Anthropic overloaded and OpenAI failing on every attempt
    healthy.fake.set_default("anthropic", Script(kind="status", status=529))
    healthy.fake.set_default("openai", Script(kind="status", status=500))
    # When a visitor asks
    outcome = chat(healthy.url("web-b"), account.key, "Where is my order?", user="v-down")
    # I expect a clear message saying a person will reply
    assert (outcome.kind, outcome.code) == ("error", "providers_unavailable"), outcome
    assert "a person from the team will reply" in (outcome.message or "")
    assert outcome.error["escalation"]["rule"] == "ai_unavailable"
    # and the conversation in the monitor's queue for a person
    row = queued_for_a_person(healthy, account, outcome)
    assert (row["rule"], row["priority"], row["state"]) == ("ai_unavailable", 3, "queued")
    acked = check_store(healthy, [outcome])
    report.record(
        6,
        "Both providers down (Anthropic 529, OpenAI 500 on every attempt)",
        "a clear message, and the conversation queued for a person",
        f'error providers_unavailable: "{outcome.message}"; in the monitor\'s queue (rule ai_unavailable, '
        f"priority 3, route {row['route']}); 4 attempts and the failure stored",
        acked,
        0,
    )


def test_a_spent_budget_queues_the_conversation_for_a_person(healthy: Stack) -> None:
    # Given a workspace with a 50-token monthly budget, spent by a first answer
    spender = Account(healthy, "Faults Budget")
    patched = httpx.patch(
        healthy.url("web-a") + "/api/settings",
        json={"monthly_token_budget": 50},
        headers=spender.admin.headers,
        timeout=30,
    )
    assert patched.status_code == 200, patched.text
    healthy.fake.enqueue("anthropic", Script(text="First answer.", input_tokens=100, output_tokens=5))
    first = chat(healthy.url("web-a"), spender.key, "First question", user="v-budget")
    assert first.kind == "done", first

    def spent() -> bool:  # the usage projection (in `projections run`) counted the first answer
        rows = healthy.query(
            "SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens), 0)"
            " FROM usage_v1_monthly WHERE workspace_id = %s",
            spender.workspace_id,
        )
        return int(rows[0][0]) >= 105

    poll(spent, 60, "the usage view counts the spent budget", interval=0.3)
    # When the visitor asks again (on the other web process)
    second = chat(
        healthy.url("web-b"), spender.key, "Second question", conversation_id=first.conversation_id, user="v-budget"
    )
    # I expect the refusal, saying a person will reply, no model call, and the conversation queued
    assert (second.kind, second.code) == ("error", "budget_exhausted"), second
    assert "a person from the team will reply" in (second.message or "")
    assert len(healthy.fake.requests) == 1
    row = queued_for_a_person(healthy, spender, second)
    assert (row["rule"], row["state"]) == ("ai_unavailable", "queued")
    acked = check_store(healthy, [first, second])
    report.record(
        7,
        "The monthly token budget is spent (over_budget: refuse)",
        "a clear message, and the conversation queued for a person",
        f'error budget_exhausted: "{second.message}"; no model call; in the monitor\'s queue (rule ai_unavailable)',
        acked,
        0,
    )


# --- 8: two web processes, one conversation ----------------------------------------------------------------------


def test_two_web_processes_writing_the_same_conversation(healthy: Stack, account: Account) -> None:
    # Given a conversation, and both web processes answering after a short stream
    healthy.fake.set_default("anthropic", Script(text=LONG_TEXT, chunks=6, chunk_delay_s=0.05))
    first = chat(healthy.url("web-a"), account.key, "Hello", user="v-both")
    assert first.kind == "done", first
    cid = first.conversation_id
    # When the visitor's messages go to web A and web B at the same moments, 6 rounds of two
    outcomes = [first]
    for round_ in range(6):
        outcomes += at_once(
            lambda base=base, text=f"Message {round_}.{n}": chat(
                healthy.url(base), account.key, text, conversation_id=cid, user="v-both"
            )
            for n, base in enumerate(("web-a", "web-b"))
        )
    # I expect every message answered (a concurrent write is retried on the newer version), each exactly once
    assert [o.kind for o in outcomes] == ["done"] * 13, [(o.kind, o.status, o.code) for o in outcomes]
    events = Store(healthy.database_url).conversations()[uuid.UUID(str(cid))]
    names = Counter(type(e).__name__ for e in events)
    assert (names["UserMessageReceived"], names["AssistantReplied"]) == (13, 13)
    acked = check_store(healthy, outcomes)
    report.record(
        8,
        "Two web processes write the same conversation at the same moments",
        "every message stored and answered once; concurrent writes retried, none lost",
        f"{described(outcomes)}; 13 messages and 13 replies in one stream of {len(events)} events",
        acked,
        0,
    )


# --- 10: the active projection runner killed mid-page ------------------------------------------------------------


def test_a_projection_runner_killed_mid_page(healthy: Stack, account: Account) -> None:
    # Given one process active for every projection (`projections run`, unless an earlier fault moved them to the
    # worker), the other's runners standing by
    def active() -> str | None:
        return next((n for n in ("projections", "worker") if healthy.all_runners_in(n)), None)

    victim = poll(active, 60, "one process active for every projection")
    runner, standby = healthy.processes[victim], "worker" if victim == "projections" else "projections"
    healthy.fake.set_default("anthropic", Script(text="Short answer.", chunks=2))
    # When visitors keep chatting and the active replica is killed (SIGKILL) while it applies their events
    stop = threading.Event()
    outcomes: list[Outcome] = []

    def visitors() -> None:
        n = 0
        while not stop.is_set() or n < 12:
            outcomes.extend(
                at_once(
                    lambda i=i, tag=f"{n}.{i}": chat(
                        healthy.url(("web-a", "web-b")[i % 2]), account.key, f"Load {tag}", user=f"v-page-{tag}"
                    )
                    for i in range(6)
                )
            )
            n += 6

    load = threading.Thread(target=visitors)
    load.start()
    poll(lambda: len(outcomes) >= 6, 60, "the first answers under load")
    runner.kill()
    time.sleep(1.0)
    stop.set()
    load.join(120)
    # I expect the other process's standbys to take over every projection
    poll(lambda: healthy.all_runners_in(standby), 60, f"the {standby}'s runners active")
    # and every event applied exactly once: the views' figures equal the store's
    assert all(o.kind == "done" for o in outcomes), Counter(o.kind for o in outcomes)
    acked = check_store(healthy, outcomes)
    report.record(
        10,
        "The active projection runner process killed (SIGKILL) while it applies pages under load",
        "the standby replica takes over from the tracked position; each event applied exactly once",
        f"{described(outcomes)} during the kill of `{runner.args[0]}`; the `{healthy.processes[standby].args[0]}` "
        "replica took over all 6 projections; analytics and monitor figures equal the store's for every conversation",
        acked,
        0,
    )


# --- 11-12: Redis, then PostgreSQL, restarted under load ---------------------------------------------------------


def load_through(
    stack: Stack, account: Account, fault: Callable[[], None], tag: str, visitors: int = 12
) -> list[Outcome]:
    """``visitors`` slow turns on both web processes (staggered), with ``fault`` run once they are under way."""
    stack.fake.set_default("anthropic", SLOW)
    started = threading.Event()

    def turn(i: int) -> Outcome:
        time.sleep(0.15 * i)
        return chat(
            stack.url(("web-a", "web-b")[i % 2]),
            account.key,
            f"{tag} question {i}",
            user=f"v-{tag}-{i}",
            on_delta=lambda _: started.set(),
        )

    injector = threading.Thread(target=lambda: (started.wait(60), fault()))
    injector.start()
    outcomes = at_once([lambda i=i: turn(i) for i in range(visitors)])
    injector.join(60)
    return outcomes


def recovered(stack: Stack, account: Account, tag: str) -> list[Outcome]:
    """A turn on each web process, retried until answered (the stack recovers by itself)."""
    stack.fake.set_default("anthropic", Script(text="Recovered."))
    answered: list[Outcome] = []
    for base in ("web-a", "web-b"):

        def ask(base: str = base) -> Outcome | None:
            out = chat(stack.url(base), account.key, f"{tag}: still there?", user=f"v-{tag}-after")
            assert out.kind != "hang", out
            return out if out.kind == "done" else None

        answered.append(poll(ask, 90, f"a turn answered on {base} after the {tag} restart", interval=1.0))
    return answered


def test_redis_restarted_mid_load(healthy: Stack, account: Account) -> None:
    # Given visitors chatting on both web processes
    def restart() -> None:
        healthy.stop_redis()
        time.sleep(2.0)
        healthy.start_redis()

    # When our Redis stops for 2 s while their answers stream, then comes back
    outcomes = load_through(healthy, account, restart, "redis")
    # I expect chat to go on: every visitor answered (the rate limits fail open while Redis is away), each web
    # process saying so once, not per request; every turn stored
    assert [o.kind for o in outcomes] == ["done"] * len(outcomes), [(o.kind, o.status, o.code) for o in outcomes]
    said = [
        healthy.processes[w].log.read_text().count("rate limits are off while Redis does not answer")
        for w in ("web-a", "web-b")
    ]
    assert max(said) <= 1 and sum(said) >= 1, said
    after = recovered(healthy, account, "redis")
    acked = check_store(healthy, outcomes + after)
    report.record(
        11,
        "Redis stopped for 2 s mid-load (12 streaming turns on two web processes), then started",
        "chat goes on (rate limits fail open, logged once per process); every turn stored; recovers by itself",
        f"{described(outcomes)}; {sum(said)} web process(es) logged the outage once; after the restart both web "
        "processes answer without being restarted",
        acked,
        0,
    )


def test_postgresql_restarted_mid_load(healthy: Stack, account: Account) -> None:
    # Given visitors chatting on both web processes
    def restart() -> None:
        healthy.stop_postgres()
        time.sleep(2.0)
        healthy.start_postgres()

    # When our PostgreSQL stops (fast shutdown: every session ended) for 2 s while their answers stream
    outcomes = load_through(healthy, account, restart, "postgres")
    # I expect every visitor to get `done` or an error (an error status, an error event or a cut stream), never a
    # hang; every turn that got `done` in the store; none half-written (checked over the whole store)
    assert not [o for o in outcomes if o.kind == "hang"], outcomes
    assert {o.kind for o in outcomes} <= {"done", "error", "cut"}
    # and the web processes, the runners and the worker recover without a restart
    after = recovered(healthy, account, "postgres")
    acked = check_store(healthy, outcomes + after)
    unanswered = Store(healthy.database_url).unanswered(outcomes)
    report.record(
        12,
        "PostgreSQL stopped (fast shutdown) for 2 s mid-load (12 streaming turns on two web processes), then started",
        "every turn that got `done` is in the store, the others got an error (no hang), none half-written; "
        "recovers by itself",
        f"{described(outcomes)}; slowest answer {max(o.seconds for o in outcomes):.1f} s; {unanswered} visitor "
        "message(s) stored without a reply; afterwards both web processes answer and the views catch up",
        acked,
        0,
    )


def test_postgresql_restarted_between_turns(healthy: Stack, account: Account) -> None:
    # Given both web processes, the worker and the runners warm: each holds pooled sessions from earlier turns
    healthy.fake.set_default("anthropic", Script(text="Before the restart."))
    before = at_once(
        [
            lambda i=i: chat(healthy.url(("web-a", "web-b")[i % 2]), account.key, f"warm {i}", user=f"v-warm-{i}")
            for i in range(6)
        ]
    )
    assert [o.kind for o in before] == ["done"] * len(before), before
    # When our PostgreSQL restarts (fast shutdown: every pooled session ended) while no turn is under way, and is back
    healthy.stop_postgres()
    time.sleep(2.0)
    healthy.start_postgres()
    poll(lambda: healthy.query("SELECT 1") == [(1,)], 30, "PostgreSQL accepts connections again")
    # I expect every turn that starts after it is back answered at once: no pooled session the server ended is
    # handed to a request (each checkout checks its session first), nothing lost, nothing half-written
    healthy.fake.set_default("anthropic", Script(text="After the restart."))
    outcomes = at_once(
        [
            lambda i=i: chat(healthy.url(("web-a", "web-b")[i % 2]), account.key, f"after {i}", user=f"v-back-{i}")
            for i in range(12)
        ]
    )
    assert [o.kind for o in outcomes] == ["done"] * len(outcomes), [(o.kind, o.status, o.code) for o in outcomes]
    acked = check_store(healthy, before + outcomes)
    report.record(
        13,
        "PostgreSQL stopped (fast shutdown) for 2 s between turns, then started; 12 turns on two web processes once "
        "it is back",
        "no turn that starts after it is back is interrupted (sessions the server ended are replaced at checkout); "
        "none lost, none half-written",
        f"{described(outcomes)} after the restart (6 done before it); slowest answer "
        f"{max(o.seconds for o in outcomes):.1f} s",
        acked,
        0,
    )


# --- 9: a web process killed mid-stream (run last: web B stays down) ---------------------------------------------


def test_a_web_process_killed_mid_stream(healthy: Stack, account: Account) -> None:
    # Given slow answers, and visitors chatting on both web processes
    healthy.fake.set_default("anthropic", Script(text=LONG_TEXT, chunks=12, chunk_delay_s=0.25))
    killed = threading.Event()
    web_b = healthy.processes["web-b"]

    def kill_on_first_delta(out: Outcome) -> None:
        if not killed.is_set():
            killed.set()
            web_b.kill()

    calls: list[Callable[[], Outcome]] = [
        (lambda i=i: chat(healthy.url("web-a"), account.key, f"Question {i}", user=f"v-kill-a{i}")) for i in range(4)
    ]
    calls.append(
        lambda: chat(healthy.url("web-b"), account.key, "Question on B", user="v-kill-b", on_delta=kill_on_first_delta)
    )
    # When web B is killed with SIGKILL as its stream starts
    outcomes = at_once(calls)
    on_a, on_b = outcomes[:4], outcomes[4]
    # I expect web A's visitors answered, web B's visitor cut off (no `done`), and nothing half-written
    assert killed.is_set() and not web_b.alive()
    assert [o.kind for o in on_a] == ["done"] * 4, on_a
    assert on_b.kind == "cut" and on_b.message_id is not None, on_b
    acked = check_store(healthy, outcomes)
    unanswered = Store(healthy.database_url).unanswered([on_b])
    # and the visitor carries on in the same conversation through the other web process (as a load balancer sends
    # them; web B stays down: this scenario runs last)
    healthy.fake.set_default("anthropic", Script(text="Back again."))
    again = chat(
        healthy.url("web-a"), account.key, "Are you there?", conversation_id=on_b.conversation_id, user="v-kill-b"
    )
    assert again.kind == "done", again
    acked += check_store(healthy, [again])
    report.record(
        9,
        "A web process killed (SIGKILL) mid-stream",
        "that stream cut, the other process's turns answered; its visitor message kept, no half-written turn; "
        "the conversation goes on through the other process",
        f"{described(on_a)} on web A; the stream on web B cut after {on_b.deltas} delta(s), its message stored "
        f"{'unanswered' if unanswered else 'answered'}; the visitor's next message there answered by web A",
        acked,
        0,
    )
