"""``chatassist seed``: realistic demo conversations spread over the last N days, through the command path.

Every conversation is written by the same commands as a live chat turn: ``ReceiveMessage`` stores the visitor's
message, the escalation engine (domain/escalation.py) decides on it with the rules of the prompt version in force,
and ``RecordReply`` stores the model calls (providers, models, tokens, latencies and costs priced by
domain/pricing.py, with fallbacks and the odd failed turn), the answer (retrieved from the workspace's knowledge;
confidence and topic by domain/assessment.py) or the escalation and its holding reply; then CSAT, resolutions
and idle closes. Each step runs under ``domain.clock.events_at``, so its events carry the instant it happened.

A new workspace gets three prompt versions (the baseline, a cheaper model from ~60% of the period ago, a better
prompt from ~25% ago), so the per-version dashboard has something to compare. ``bulk`` (the benchmark's mode)
makes the same decisions with the commands' pure ``handle`` functions and saves many conversations per
transaction instead of one transaction per step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from chatassist.seed_corpus import SCENARIOS
from commands._common import load
from commands._lazy import read_or_none
from commands._prompt_config import LivePrompt, baseline_content, live_prompt
from commands.ai.models import provider_for
from commands.application import ChatAssistApp
from commands.chat_turn.service import Prepared, prepare
from commands.close_conversation import cmd as close
from commands.create_workspace import cmd as create_ws
from commands.rate_conversation import cmd as rate
from commands.receive_message import cmd as receive
from commands.record_reply import cmd as record
from commands.resolve_conversation import cmd as resolve
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.assessment import confidence_of, topic_of
from domain.clock import events_at
from domain.conversation import Conversation, ModelCall
from domain.escalation import Decision
from domain.escalation import decide as decide_escalation
from domain.pricing import Usage, cost_usd
from domain.prompt_config import PromptConfig
from domain.workspace import Workspace

SEEDER = uuid5(NAMESPACE_URL, "https://chatassist.dev/demo-seeder")
"""The actor named on the prompt versions the seeder publishes (no account: it is the seeder)."""
IDLE = timedelta(minutes=30)  # as the idle-close job (CHATASSIST_IDLE_CLOSE_MINUTES default)
UNSURE = "I'm not sure I understand. Could you tell me a bit more about what you are trying to do?"


@dataclass(frozen=True)
class SeedPlan:
    """How many conversations, over how many days up to ``now``, into which workspace (None: a new one)."""

    conversations: int
    days: int = 60
    workspace_id: UUID | None = None
    random_seed: int | None = None
    bulk: bool = False
    batch: int = 200  # conversations per transaction in bulk mode
    now: datetime | None = None
    since: datetime | None = None  # the window conversations start in: [since, until); default: the last ``days``
    until: datetime | None = None  # days up to ``now``


@dataclass
class SeedResult:
    """What was written."""

    workspace_id: UUID
    widget_key: str
    conversations: int
    events: int
    seconds: float
    prompt_versions: list[int] = field(default_factory=list)


@dataclass
class _Versions:
    """The prompt versions of the period: (went live at, prepared inputs), oldest first."""

    live: list[tuple[datetime, Prepared]]

    def at(self, when: datetime) -> Prepared:
        """The version in force at ``when``."""
        current = self.live[0][1]
        for since, prep in self.live:
            if since <= when:
                current = prep
        return current


def _new_workspace(app: ChatAssistApp, start: datetime, span: timedelta) -> tuple[Workspace, str, _Versions]:
    """A workspace created just before the period, with two more prompt versions published during it."""
    key = create_ws.new_widget_key()
    with events_at(start - timedelta(days=1)):
        workspace, index = create_ws.handle(create_ws.CreateWorkspace("Demo workspace (seeded)"), key)
        config = PromptConfig(workspace.id, workspace.prompt_version, baseline_content(workspace).to_dict())
    changes: list[tuple[float, dict[str, Any], str]] = [
        (0.40, {"persona": {"primary_model": "claude-haiku-4-5"}}, "Cheaper model for routine questions"),
        (
            0.75,
            {
                "persona": {"primary_model": "claude-sonnet-4-6"},
                "system_prompt": config.live.content.system_prompt
                + "\nName the help article you used, and say plainly when the help centre has no answer.",
            },
            "Back to Sonnet, cite the help article",
        ),
    ]
    live = [(start - timedelta(days=1), prepare(workspace, None))]
    for share, change, note in changes:
        when = start + span * share
        with events_at(when):
            draft_id = f"d_seed{len(live) + 1}"
            config.save_draft(draft_id, change, SEEDER)
            version = config.publish(draft_id, note, None, SEEDER)
        live.append((when, prepare(workspace, LivePrompt(version.version, version.content))))
    app.save(workspace, index, config)
    return workspace, key, _Versions(live)


def _existing_workspace(app: ChatAssistApp, workspace_id: UUID) -> tuple[Workspace, str, _Versions]:
    workspace = load(app, workspace_id, Workspace, "workspace", read_only=True)
    prep = prepare(workspace, live_prompt(app, workspace_id))
    return workspace, workspace.widget_key, _Versions([(datetime.min.replace(tzinfo=UTC), prep)])


class _Writer:
    """One step of a conversation, by the commands' ``execute`` (one transaction each) or, in bulk mode, by their
    ``handle`` functions with the conversations saved in batches."""

    def __init__(self, app: ChatAssistApp, plan: SeedPlan) -> None:
        self.app, self.bulk, self.batch = app, plan.bulk, plan.batch
        self.unsaved: list[Conversation] = []

    def receive(self, cmd: receive.ReceiveMessage, held: Conversation | None) -> tuple[Conversation, str]:
        if not self.bulk:
            got = receive.execute(self.app, cmd, held)
            assert got.conversation is not None
            return got.conversation, got.message_id
        message_id = str(uuid4())
        if held is None:
            return receive.handle_new(cmd, message_id), message_id
        receive.handle_existing(cmd, held, message_id)
        return held, message_id

    def record(self, cmd: record.RecordReply, conversation: Conversation) -> Conversation:
        if not self.bulk:
            return record.execute(self.app, cmd, loaded=conversation)
        record.handle(cmd, conversation)
        return conversation

    def finish(self, workspace_id: UUID, c: Conversation, score: int | None, resolved: bool, closed: bool) -> None:
        if not self.bulk:
            if resolved:
                resolve.execute(self.app, resolve.ResolveConversation(workspace_id, c.id))
            if score is not None:
                rate.execute(self.app, rate.RateConversation(workspace_id, c.id, score, from_visitor=False))
            if closed:
                close.execute(self.app, close.CloseConversation(c.id, "idle_timeout", workspace_id))
            return
        if resolved:
            c.resolve("visitor")
        if score is not None:
            c.rate(score, None)
        if closed:
            c.close("idle_timeout")

    def done(self, conversation: Conversation) -> None:
        if self.bulk:
            self.unsaved.append(conversation)
            if len(self.unsaved) >= self.batch:
                self.flush()

    def flush(self) -> None:
        if self.unsaved:
            self.app.save(*self.unsaved)
            self.unsaved.clear()


def _start_times(rng: random.Random, n: int, start: datetime, span: timedelta) -> list[datetime]:
    """``n`` instants over the period, busier on weekdays and in (UTC) office hours, oldest first."""
    out: list[datetime] = []
    while len(out) < n:
        at = start + span * rng.random()
        weight = (0.35 if at.weekday() >= 5 else 1.0) * (1.0 if 7 <= at.hour <= 19 else 0.3)
        if rng.random() < weight:
            out.append(at)
    return sorted(out)


def _calls(rng: random.Random, prep: Prepared, turn: int, answer: str) -> tuple[list[ModelCall], bool]:
    """The model attempts of one turn (primary, or primary falling back to the fallback), and whether one
    succeeded."""
    roll = rng.random()
    models = [prep.settings.primary_model]
    if roll < 0.06:
        models.append(prep.settings.fallback_model)
    calls = []
    for attempt, model in enumerate(models, start=1):
        last = attempt == len(models)
        ok = last and roll >= 0.008  # ~0.8% of turns: every provider failed
        provider = provider_for(model) or "unknown"
        if ok:
            output = int(len(answer.split()) * 1.4) + rng.randint(5, 40)
            inp = 700 + 180 * turn + rng.randint(0, 600)
            cached = provider == "anthropic" and rng.random() < 0.6
            usage = Usage(inp, output, 650 if cached else 0, 0 if cached or provider != "anthropic" else 650)
            ttft: float | None = round(rng.uniform(250, 1400), 1)
            latency = round((ttft or 0) + output * rng.uniform(8, 25), 1)
        else:
            usage, ttft, latency = Usage(), None, round(rng.uniform(150, 2500), 1)
        calls.append(
            ModelCall(
                call_id=str(uuid4()),
                provider=provider,
                model=model,
                prompt_version=prep.prompt_version,
                attempt=attempt,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                ttft_ms=ttft,
                latency_ms=latency,
                cost_usd=cost_usd(model, usage) if ok else Decimal(0),
                outcome="ok" if ok else ("fell_back" if not last else "error"),
                error_kind=None if ok else ("overloaded" if not last else "server_error"),
            )
        )
    return calls, calls[-1].outcome == "ok"


def _answer(rng: random.Random, prep: Prepared, question: str) -> str:
    """The reply a model would give from the workspace's knowledge (a hedge when nothing matches)."""
    hits = prep.documents.rank(question)
    if not hits or hits[0].support < 0.2 or rng.random() < 0.05:
        return UNSURE
    return hits[0].document.answer


def _conversation(
    rng: random.Random, writer: _Writer, ws: Workspace, versions: _Versions, at: datetime, visitor: str, now: datetime
) -> Conversation:
    """One conversation from a scenario: its turns, then resolution, CSAT and the idle close."""
    script = rng.choice(SCENARIOS)
    conversation: Conversation | None = None
    prep = versions.at(at)
    texts: list[str] = []
    confidences: list[float] = []
    escalated = failed = False
    for turn, text in enumerate(script[: rng.randint(1, len(script))], start=1):
        texts.append(text)
        cmd = receive.ReceiveMessage(ws.id, conversation.id if conversation else None, receive.EndUser(visitor), text)
        with events_at(at):
            conversation, message_id = writer.receive(cmd, conversation)
        early = decide_escalation(texts, turns=turn, rules=prep.rules)
        if early.escalates:
            reply = record.Reply(
                str(uuid4()), early.message or "", 1.0, early.topic, "escalation", "rules", prep.prompt_version
            )
            at += timedelta(milliseconds=rng.randint(20, 120))
            with events_at(at):
                conversation = writer.record(
                    record.RecordReply(conversation.id, message_id, [], reply=reply, decision=early), conversation
                )
            escalated = True
            break
        answer = _answer(rng, prep, text)
        calls, ok = _calls(rng, prep, turn, answer)
        at += timedelta(milliseconds=sum(c.latency_ms for c in calls))
        if ok:
            confidence = confidence_of(text, answer, prep.documents)
            confidences.append(confidence)
            topic = topic_of(" ".join(texts), prep.topics)
            last = calls[-1]
            reply = record.Reply(
                str(uuid4()), answer, confidence, topic, last.provider, last.model, last.prompt_version
            )
            offer: Decision = decide_escalation(texts, turns=turn, confidence=confidence, rules=prep.rules)
            command = record.RecordReply(
                conversation.id, message_id, calls, reply=reply, decision=offer if offer.action == "offer" else None
            )
        else:
            failure = record.Failure("providers_unavailable", "No provider answered this turn.")
            command = record.RecordReply(conversation.id, message_id, calls, failure=failure)
            failed = True
        with events_at(at):
            conversation = writer.record(command, conversation)
        if failed:
            break
        at += timedelta(seconds=rng.randint(15, 180))
    assert conversation is not None
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    resolved = not escalated and not failed and rng.random() < 0.2 + 0.7 * mean
    score = None
    if rng.random() < 0.45:
        score = rng.choice([4, 5, 5, 5, 3] if resolved else [1, 2, 2, 3, 4])
    closed = at + IDLE < now
    with events_at(min(at + timedelta(seconds=rng.randint(5, 90)), now)):
        if resolved or score is not None:
            writer.finish(ws.id, conversation, score, resolved, closed=False)
    if closed:
        with events_at(at + IDLE):
            writer.finish(ws.id, conversation, None, False, closed=True)
    return conversation


def seed(app: ChatAssistApp, plan: SeedPlan) -> SeedResult:
    """Write ``plan.conversations`` conversations over the last ``plan.days`` days; returns what was written."""
    if plan.conversations < 1 or plan.days < 1:
        raise ValueError("seed needs at least one conversation and one day")
    began = time.perf_counter()
    rng = random.Random(plan.random_seed)
    now = plan.now or datetime.now(UTC)
    until = min(plan.until or now, now)
    start = plan.since or now - timedelta(days=plan.days)
    if start >= until:
        raise ValueError("seed needs a window that starts before it ends and before now")
    span = until - start
    if plan.workspace_id is None:
        workspace, key, versions = _new_workspace(app, start, span)
    else:
        workspace, key, versions = _existing_workspace(app, plan.workspace_id)
    writer = _Writer(app, plan)
    ids = []
    # conversations start a little before the window's end (five minutes, or a tenth of a short window) so that
    # their turns fit before ``now``
    window = span - min(timedelta(minutes=5), span / 10)
    for n, at in enumerate(_start_times(rng, plan.conversations, start, window)):
        conversation = _conversation(rng, writer, workspace, versions, at, f"demo-visitor-{n % 997}", now)
        ids.append(conversation.id)
        writer.done(conversation)
    writer.flush()
    return SeedResult(
        workspace.id,
        key,
        len(ids),
        _count_events(app, ids),
        time.perf_counter() - began,
        sorted({prep.prompt_version for _, prep in versions.live}),
    )


def _count_events(app: ChatAssistApp, ids: list[UUID]) -> int:
    """Stored events of the seeded conversations (the workspace's own few are not counted)."""
    with app.recorder.datastore.get_connection() as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {app.name.lower()}_events WHERE originator_id = ANY(%s)",
            (ids,),
        ).fetchone()
    return int(row["count"]) if row else 0


DEMO_CONVERSATIONS, DEMO_DAYS, DEMO_LAST_DAY = 300, 60, 40


def _local_midnight(app: ChatAssistApp, workspace_id: UUID, now: datetime) -> datetime:
    """Today's first instant in the workspace's time zone, in UTC."""
    stored = read_or_none(app, app_settings_id(workspace_id), AppSettings)
    zone = ZoneInfo((stored.values if stored is not None else AppSettingsValues()).time_zone)
    local = now.astimezone(zone)
    return datetime.combine(local.date(), datetime.min.time(), zone).astimezone(UTC)


def demo_filler(
    app: ChatAssistApp,
    conversations: int = DEMO_CONVERSATIONS,
    days: int = DEMO_DAYS,
    last_day: int = DEMO_LAST_DAY,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[UUID], int]:
    """The dashboard's "Fill demo data" button: ``conversations`` demo conversations over the last ``days`` days,
    and ``last_day`` more, half of them yesterday and half today so far in the workspace's time zone (so today's
    overview and its comparison with yesterday always have figures), into the member's workspace by the seed path
    (bulk mode); returns how many. ``clock`` gives "now" (tests move it to a quiet Sunday or just after midnight)."""

    def fill(workspace_id: UUID) -> int:
        now = clock()
        written = 0
        if conversations:
            written += seed(
                app, SeedPlan(conversations, days=days, workspace_id=workspace_id, bulk=True, now=now)
            ).conversations
        # ``last_day``: half yesterday and half today so far, by the workspace's own calendar. Drawn over "the
        # last 24 hours", a quiet Sunday or a click just after midnight would leave one of the two days empty.
        if not last_day:
            return written
        midnight = _local_midnight(app, workspace_id, now)
        yesterday, today = last_day // 2, last_day - last_day // 2
        for n, since, until in ((yesterday, midnight - timedelta(days=1), midnight), (today, midnight, now)):
            if n:
                plan = SeedPlan(n, workspace_id=workspace_id, bulk=True, now=now, since=since, until=until)
                written += seed(app, plan).conversations
        return written

    return fill
