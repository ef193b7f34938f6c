"""The chat turn: store the visitor's message, stream the model's answer, store the answer.

``begin`` does everything that can be refused with a 4xx (key, conversation, message) before a
single byte of the stream is sent; ``answer`` then streams and records the outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol, TypeVar
from uuid import UUID, uuid4

import anyio.to_thread

from commands._common import load, workspace_id_for_key
from commands._lazy import read_or_none
from commands._metrics import observe_turn
from commands._prompt_config import LivePrompt, live_prompt
from commands.ai import base
from commands.ai import judge as llm_judge
from commands.ai.clients import Endpoints
from commands.ai.models import deprecation_of, provider_for
from commands.ai.offline import OfflineProvider
from commands.ai.orchestrator import Finished, GaveUp, Restart, RetryPolicy, Route, orchestrate
from commands.ai.prompt import example_turns, system_text
from commands.application import ChatAssistApp
from commands.provider_keys.vault import KeyVault
from commands.receive_message import cmd as receive
from commands.record_reply import cmd as record
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.assessment import DEFAULT_TOPICS, Confidence, assess, combined_topic, known_topic, topic_of
from domain.budget import decide_budget
from domain.business_hours import apply_hours
from domain.clock import event_time
from domain.conversation import Conversation, ModelCall, Turn
from domain.decisions.judge import uncertain
from domain.escalation import DEFAULT_RULES, Decision, Rules, rules_from, unavailable, with_confidence
from domain.escalation import LOW as LOW_CONFIDENCE
from domain.escalation import decide as decide_escalation
from domain.knowledge import GAP_SUPPORT, KnowledgeHit, citations_of
from domain.prompt_content import PromptContent
from domain.retrieval import Document, Index
from domain.sandbox import SandboxRun
from domain.workspace import Workspace, WorkspaceSettings

R = TypeVar("R")


log = logging.getLogger("chatassist.turn")


def warn_if_deprecated(workspace: Workspace, settings: WorkspaceSettings | None = None) -> None:
    """Log a warning for each configured model (``settings``: those in force) the anthropic SDK marks deprecated."""
    settings = settings or workspace.settings
    for model in dict.fromkeys([settings.primary_model, settings.fallback_model, settings.budget_model]):
        date = deprecation_of(model)
        if date:
            log.warning(
                "workspace %s uses model %s, deprecated by Anthropic (end of life %s)",
                workspace.id,
                model,
                date,
            )


class KnowledgeSearch(Protocol):
    """Port: the workspace's help-article chunks best matching a question, from the knowledge read model."""

    def search(self, workspace_id: UUID, question: str, at_version: int = 0, k: int = 6) -> list[KnowledgeHit]:
        """Best first; waits (briefly) until the read model reflects workspace version ``at_version``."""
        ...


class UsageMeter(Protocol):
    """Port: tokens a workspace has used this calendar month (UTC), from a read model."""

    def tokens_this_month(self, workspace_id: UUID) -> int:
        """Sum of all model-call tokens recorded this month."""
        ...


@dataclass
class Providers:
    """The providers this process can reach: the environment keys' (``by_name``), a workspace's own keys (read
    from ``vault``, clients built by ``endpoints``) which take precedence, and offline, always there."""

    by_name: dict[str, base.Provider] = field(default_factory=dict)
    offline: base.Provider = field(default_factory=OfflineProvider)
    vault: KeyVault | None = None
    endpoints: Endpoints = field(default_factory=Endpoints)
    _clients: dict[tuple[UUID, str, str], base.Provider] = field(default_factory=dict, repr=False)

    MAX_CLIENTS = 1000

    def own(self, workspace_id: UUID) -> dict[str, base.Provider]:
        """Clients of the workspace's own keys, one per (workspace, provider, key fingerprint), cached. Blocks."""
        if self.vault is None:
            return {}
        out: dict[str, base.Provider] = {}
        for name, key in self.vault.own_keys(workspace_id).items():
            cache_key = (workspace_id, name, key.fingerprint)
            client = self._clients.get(cache_key)
            if client is None:
                if len(self._clients) >= self.MAX_CLIENTS:
                    self._clients.clear()
                client = self._clients[cache_key] = self.endpoints.provider(name, key.plaintext)
            out[name] = client
        return out

    def routes(self, primary: str, fallback: str, own: dict[str, base.Provider] | None = None) -> list[Route]:
        """Primary then fallback, skipping models whose provider has no key (the workspace's own key first, then
        the environment's); offline if none is left."""
        routes: list[Route] = []
        for model in dict.fromkeys([primary, fallback]):
            name = provider_for(model) or ""
            provider = (own or {}).get(name) or self.by_name.get(name)
            if provider is not None:
                routes.append(Route(provider, model))
        return routes or [Route(self.offline, "offline-retrieval")]


@dataclass(frozen=True)
class TurnStarted:
    """The visitor's message is stored."""

    conversation_id: UUID
    message_id: str
    visitor_token: str | None = None  # issued by this turn (new conversation or identity): the widget keeps it


@dataclass(frozen=True)
class TurnDone:
    """The answer is stored."""

    message_id: str
    reply_to: str
    usage: dict[str, int]
    cost_usd: str | None
    confidence: float
    topic: str
    provider: str
    model: str
    prompt_version: int
    attempts: int
    offline: bool
    escalation: dict[str, Any] | None = None  # rule, priority, route, action (escalate | offer), message
    citations: list[dict[str, Any]] = field(default_factory=list)  # article_id, version, title, url


@dataclass(frozen=True)
class TurnHandled:
    """A person handles the chat (queued, assigned, agent): the message is stored for them, the AI stays silent.
    ``escalation``: the last escalation's rule, priority and route (None when an agent took over a live chat)."""

    conversation_id: UUID
    reply_to: str
    state: str
    escalation: dict[str, Any] | None
    handled_by: str = "human"


@dataclass(frozen=True)
class TurnError:
    """No answer; the failure is stored. ``escalation``: the conversation was queued for a person (rule
    ai_unavailable, priority, route, message), None when it was not (a sandbox turn)."""

    code: str
    message: str
    escalation: dict[str, Any] | None = None


@dataclass(frozen=True)
class SandboxTurnStarted:
    """A sandbox turn begins: ``turn`` counts the scripted visitor messages from 1."""

    run_id: UUID
    turn: int
    message_id: str
    prompt_version: int
    source: dict[str, Any]


@dataclass(frozen=True)
class Begun:
    """A visitor message decided (every refusal already raised), its save under way, and what is needed to answer
    it. ``received`` is the message as decided: its ids, history and conversation are what the rules and the model
    read. ``commit`` and ``search`` run in worker threads side by side (ADR 0069); ``stored`` waits for the save."""

    workspace: Workspace
    received: receive.MessageReceived
    commit: asyncio.Future[receive.MessageReceived]
    search: asyncio.Future[list[KnowledgeHit]] | None = None  # None: a person handles the chat, nothing to retrieve
    current: asyncio.Future[bool] | None = None  # decided on a held copy: was it the stored one? (told by ``commit``)

    async def stored(self) -> receive.MessageReceived:
        """The message as saved (raises what the save raised); the conversation then is the one to build on."""
        return await asyncio.shield(self.commit)


def window(turns: list[Turn], max_turns: int) -> list[Turn]:
    """The last ``max_turns`` exchanges (at least the newest visitor message), as ``Conversation.history``."""
    user_indexes = [i for i, turn in enumerate(turns) if turn.role == "user"]
    if not user_indexes:
        return []
    return turns[user_indexes[-min(max(max_turns, 1), len(user_indexes))] :]


def call_facts(call: ModelCall) -> dict[str, Any]:
    """A model call as plain values (cost as a decimal string)."""
    data = asdict(call)
    data["cost_usd"] = None if call.cost_usd is None else format(call.cost_usd, "f")
    return data


def totals(calls: list[ModelCall]) -> tuple[dict[str, int], str | None]:
    """Usage summed over every attempt, and the total cost (None if any attempt's cost is unknown)."""
    usage = {
        k: sum(getattr(c, k) for c in calls)
        for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    }
    costs = [c.cost_usd for c in calls]
    cost = None if any(c is None for c in costs) else format(sum((c for c in costs if c is not None), Decimal(0)), "f")
    return usage, cost


@dataclass(frozen=True)
class Prepared:
    """What a turn derives from a workspace version and its live prompt version: computed once, not per turn."""

    settings: WorkspaceSettings
    system: str
    examples: list[Turn]
    prompt_version: int
    topics: list[tuple[str, tuple[str, ...]]] = field(default_factory=lambda: list(DEFAULT_TOPICS))
    rules: Rules = DEFAULT_RULES
    workspace: Workspace | None = None
    content: PromptContent | None = None

    @cached_property
    def documents(self) -> Index:
        """The built-in snippets and examples in an in-memory index: the demo seeder's stand-in for retrieval (it
        writes history without the knowledge read model). Chat turns query the read model instead."""
        if self.workspace is None:
            return Index([])
        docs = [
            Document(s.id, " ".join([s.title, *s.keywords, s.text]), s.text, s.title) for s in self.workspace.snippets()
        ]
        examples = self.content.examples if self.content is not None else self.workspace.examples
        return Index(docs + [Document(f"example-{i}", e["user"], e["assistant"]) for i, e in enumerate(examples)])

    def system_with(self, hits: list[KnowledgeHit]) -> str:
        """The system prompt of a turn: the chunks retrieved for it in place of the built-in snippets."""
        return self.system if self.workspace is None else system_text(self.workspace, self.content, hits)


def prepare(workspace: Workspace, live: LivePrompt | None) -> Prepared:
    """The turn's inputs: the live prompt version's content (prompt, examples, persona models and max tokens,
    topic rules) when one is published, else the workspace's own."""
    if live is None:
        return Prepared(
            workspace.settings,
            system_text(workspace),
            example_turns(workspace),
            workspace.prompt_version,
            workspace=workspace,
        )
    # The models are the workspace's settings' (one place decides them: ADR 0040); the version's persona keeps
    # its own model names for the record only. Its max tokens belong to the prompt and win.
    persona = live.content.persona
    settings = replace(workspace.settings, max_response_tokens=persona["max_response_tokens"])
    topics = [(name, tuple(words)) for name, words in live.content.topic_rules.items()]
    return Prepared(
        settings,
        system_text(workspace, live.content),
        example_turns(workspace, live.content),
        live.version,
        topics,
        rules_from(live.content.escalation, topics),
        workspace,
        live.content,
    )


class ChatService:
    """Runs chat turns against the event store and the configured providers."""

    MAX_PREPARED = 1000
    MAX_HELD = 10_000

    def __init__(
        self,
        app: ChatAssistApp,
        providers: Providers,
        meter: UsageMeter,
        policy: RetryPolicy | None = None,
        *,
        cache_ttl_s: float = 1.0,
        clock: Callable[[], datetime] | None = None,
        knowledge: KnowledgeSearch | None = None,
        judge_timeout_s: float | None = None,
    ) -> None:
        self.app = app
        self.judge_timeout_s = judge_timeout_s  # None: the LLM judge is off (bootstrap: CHATASSIST_DECISION_JUDGE)
        # the knowledge read model; by default the one bootstrap attached to the app (docs/knowledge.md)
        self.knowledge = knowledge if knowledge is not None else app.knowledge_search
        self.clock = clock or event_time  # the business hours' "now": the domain clock unless a test pins it
        self.providers = providers
        self.meter = meter
        self.policy = policy or RetryPolicy()
        self.cache_ttl_s = cache_ttl_s
        self._key_to_workspace: dict[str, UUID] = {}
        self._prepared: dict[tuple[UUID, int, int], Prepared] = {}
        self._live: dict[UUID, LivePrompt | None] = {}  # as read with the workspace (same cache lifetime)
        self._workspaces: dict[UUID, tuple[float, Workspace]] = {}
        self._usage: dict[UUID, tuple[float, int]] = {}
        self._own: dict[UUID, tuple[float, dict[str, base.Provider]]] = {}
        self._held: OrderedDict[UUID, Conversation] = OrderedDict()

    def prepared(self, workspace: Workspace) -> Prepared:
        """Settings, retrieval documents and prompt parts of this workspace version and the prompt version
        last read with it (cached)."""
        live = self._live.get(workspace.id)
        key = (workspace.id, workspace.version, live.version if live else 0)
        found = self._prepared.get(key)
        if found is None:
            if len(self._prepared) >= self.MAX_PREPARED:
                self._prepared.clear()
            found = prepare(workspace, live)
            warn_if_deprecated(workspace, found.settings)
            self._prepared[key] = found
        return found

    def routes_for(
        self, workspace: Workspace, settings: WorkspaceSettings, model: str, own: dict[str, base.Provider] | None
    ) -> list[Route]:
        """The routes of a turn: ``model`` then the fallback model when the fallback switch is on; only the offline
        answerer once the workspace's trial has ended (no model is paid for: docs/settings.md#billing)."""
        if workspace.trial_over(self.clock()):
            return [Route(self.providers.offline, "offline-retrieval")]
        return self.providers.routes(model, settings.fallback_model if settings.fallback_enabled else model, own)

    def policy_for(self, settings: WorkspaceSettings) -> RetryPolicy:
        """The retry policy, or a single attempt per model when the workspace switched retries off."""
        return self.policy if settings.retry_enabled else replace(self.policy, attempts=1)

    def _workspace(self, widget_key: str) -> Workspace:
        workspace_id = self._key_to_workspace.get(widget_key)
        if workspace_id is None:
            workspace_id = workspace_id_for_key(self.app, widget_key)
            self._key_to_workspace[widget_key] = workspace_id  # a key never moves to another workspace
        cached = self._workspaces.get(workspace_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_ttl_s:
            return cached[1]
        workspace = load(self.app, workspace_id, Workspace, "workspace", read_only=True)
        self._live[workspace_id] = live_prompt(self.app, workspace_id)
        if self.cache_ttl_s > 0:
            self._workspaces[workspace_id] = (now, workspace)
        return workspace

    def app_settings(self, workspace_id: UUID) -> AppSettingsValues:
        """The workspace's app settings (business hours), read only when a turn escalates. Blocks."""
        stored = read_or_none(self.app, app_settings_id(workspace_id), AppSettings)
        return stored.values if stored is not None else AppSettingsValues()

    def tokens_this_month(self, workspace_id: UUID) -> int:
        """Tokens used this month, read at most once per ``cache_ttl_s`` per workspace."""
        cached = self._usage.get(workspace_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.cache_ttl_s:
            return cached[1]
        used = self.meter.tokens_this_month(workspace_id)
        if self.cache_ttl_s > 0:
            self._usage[workspace_id] = (now, used)
        return used

    def own_providers(self, workspace_id: UUID) -> dict[str, base.Provider]:
        """Clients of the workspace's own provider keys, read at most once per ``cache_ttl_s``."""
        own = self.providers.own(workspace_id)
        if self.cache_ttl_s > 0:
            self._own[workspace_id] = (time.monotonic(), own)
        return own

    def forget(self, workspace_id: UUID) -> None:
        """Drop this process's copy of the workspace (after a write to it here, e.g. its knowledge): the next turn
        reads the new version and waits for the knowledge view to reach it."""
        self._workspaces.pop(workspace_id, None)

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run blocking event-store code in a worker thread."""
        return await anyio.to_thread.run_sync(fn, *args)

    def search(self, workspace: Workspace, question: str) -> list[KnowledgeHit]:
        """The chunks retrieved for a turn: one query on the knowledge read model, at this workspace version. Blocks."""
        if self.knowledge is None:
            return []
        return self.knowledge.search(workspace.id, question, workspace.version)

    async def workspace(self, widget_key: str) -> Workspace:
        """The workspace of a widget key (raises NotFound with code unknown_widget_key)."""
        fresh = self._fresh(self._workspaces, self._key_to_workspace.get(widget_key))
        return fresh if fresh is not None else await self.run(self._workspace, widget_key)

    def _fresh(self, cache: dict[UUID, tuple[float, R]], key: UUID | None) -> R | None:
        """A cached value younger than the TTL, without leaving the event loop."""
        entry = cache.get(key) if key is not None else None
        return entry[1] if entry is not None and time.monotonic() - entry[0] < self.cache_ttl_s else None

    async def begin(
        self,
        workspace: Workspace,
        conversation_id: UUID | None,
        user: receive.EndUser,
        text: str,
        access: receive.VisitorAccess | None = None,
    ) -> Begun:
        """Validate and durably store the visitor's message. ``access``: how a widget proves an existing
        conversation is its own (None only for this process's own callers)."""
        command = receive.ReceiveMessage(
            workspace.id,
            conversation_id,
            user,
            text,
            self.prepared(workspace).settings.max_history_turns,
            access=access,
        )
        held = self._held.pop(conversation_id, None) if conversation_id is not None else None
        if receive.reads_store(command, held):
            decided = await self.run(receive.decide, self.app, command, held)
        else:  # a new conversation, or one this process holds: in memory, no worker-thread hop
            decided = receive.decide(self.app, command, held)
        got = decided.received
        # the save and the knowledge search in two worker threads at once, on their own connections; the model call
        # starts as soon as the search is back, while the save may still be committing (ADR 0069)
        loop = asyncio.get_running_loop()
        current: asyncio.Future[bool] | None = None
        checked: Callable[[bool], None] | None = None
        if decided.held_version is not None:  # no model call on a held copy another writer has overtaken
            current = loop.create_future()

            def checked(fresh: bool, future: asyncio.Future[bool] = current) -> None:
                loop.call_soon_threadsafe(_settle, future, fresh)

        commit = asyncio.ensure_future(self.run(receive.commit, self.app, decided, checked))
        commit.add_done_callback(_retrieved)
        conversation = got.conversation
        if conversation is not None and conversation.human_handling:
            return Begun(workspace, got, commit)
        search = asyncio.ensure_future(self.run(self.search, workspace, got.history[-1].text))
        search.add_done_callback(_retrieved)  # an escalated turn never reads it
        return Begun(workspace, got, commit, search, current)

    async def _hits(self, begun: Begun) -> list[KnowledgeHit]:
        """The turn's retrieved chunks: the search started with the save, or (it failed) one more try."""
        if begun.search is not None:
            try:
                return await begun.search
            except Exception:  # the message may be stored: search again, and fail the turn after `start` if it fails
                pass
        return await self.run(self.search, begun.workspace, begun.received.history[-1].text)

    def _hold(self, conversation: Conversation) -> None:
        """Keep the conversation as saved, for this process's next turn of it (bounded, least recent dropped)."""
        self._held[conversation.id] = conversation
        if len(self._held) > self.MAX_HELD:
            self._held.popitem(last=False)

    async def answer(
        self, begun: Begun
    ) -> AsyncIterator[TurnStarted | base.TextDelta | Restart | TurnDone | TurnHandled | TurnError]:
        """Stream the answer; ``start`` is yielded once the message is saved, the outcome is stored (after the
        message) before the final event is yielded. The rules and the model read the message as decided, so the
        model call starts while its save commits (ADR 0069); a save that fails ends the turn before ``start`` and
        closes the model's stream. If the save found the conversation changed by another writer (an agent took it
        over, an escalation was recalled), the message was decided again on the conversation as stored, and the
        turn starts over from the rules on that one (nothing was yielded yet). While a person handles the chat, the
        stored message is all: no rule, no model, no reply (the agent answers on the visitor stream)."""
        try:
            async for event in self._answer(begun):
                yield event
        except _Redecided as redecided:
            saved: asyncio.Future[receive.MessageReceived] = asyncio.get_running_loop().create_future()
            saved.set_result(redecided.stored)
            again = Begun(begun.workspace, redecided.stored, saved, begun.search)
            async for event in self._answer(again):
                yield event

    @staticmethod
    async def _current(begun: Begun) -> bool:
        """Whether the conversation the turn read is known to be the stored one (False when the check failed)."""
        if begun.current is None:
            return True
        # the save's thread settles it before saving; if that thread failed first, the save's error follows
        either: set[asyncio.Future[Any]] = {begun.current, begun.commit}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        return begun.current.done() and begun.current.result()

    async def _saved(self, begun: Begun) -> receive.MessageReceived:
        """The message as saved; ``_Redecided`` when it is not the conversation the turn read (a concurrent write)."""
        stored = await begun.stored()
        if stored is not begun.received:
            raise _Redecided(stored)
        return stored

    async def _answer(
        self, begun: Begun
    ) -> AsyncIterator[TurnStarted | base.TextDelta | Restart | TurnDone | TurnHandled | TurnError]:
        ws, got = begun.workspace, begun.received
        conversation = got.conversation
        if conversation is not None and conversation.human_handling:
            stored = await self._saved(begun)
            yield _started(stored)
            self._hold(stored.conversation or conversation)
            escalation = dict(conversation.escalation) if conversation.escalation else None
            observe_turn(got.conversation_id, "human")  # before the last event: a caller may stop reading after it
            yield TurnHandled(got.conversation_id, got.message_id, conversation.state, escalation)
            return
        prep = self.prepared(ws)
        early = self._decide(got, prep)  # before any model call, as before: a P1 is never answered by the AI
        judged = await self._judge(ws, got, prep, early) if uncertain(early.evidence) else None
        if judged is not None:
            early = self._decide(got, prep, judged=judged)
        if early.escalates:  # P1, P2, a person asked for: the model is not called
            early = apply_hours(early, await self.run(self.app_settings, ws.id), self.clock())
            stored = await self._saved(begun)
            yield _started(stored)
            for n, word in enumerate((early.message or "").split(" ")):
                yield base.TextDelta(word if n == 0 else " " + word)
            escalated = await self._escalate(stored, early, prep, judged)
            observe_turn(got.conversation_id, "escalated", escalation=(early.rule, early.action))
            yield escalated
            return
        settings = prep.settings
        used = self._fresh(self._usage, ws.id)
        budget = decide_budget(settings, used if used is not None else await self.run(self.tokens_this_month, ws.id))
        if budget.refuse:
            stored = await self._saved(begun)
            yield _started(stored)
            refused = await self._fail(stored, _judge_calls(judged), "budget_exhausted", prep, ws.id)
            observe_turn(got.conversation_id, "budget_exhausted")
            yield refused
            return

        hits = await self._hits(begun)
        if not await self._current(begun):  # the copy the turn read may be stale: no model call before the save
            await self._saved(begun)
        system = prep.system_with(hits)

        def request(model: str) -> base.PromptRequest:
            return base.PromptRequest(model, system, prep.examples, got.history, settings.max_response_tokens, hits)

        own = self._fresh(self._own, ws.id)
        if own is None:
            own = await self.run(self.own_providers, ws.id)
        routes = self.routes_for(ws, settings, budget.model, own)
        policy = self.policy_for(settings)
        saved: receive.MessageReceived | None = None
        # the request is sent at the first step of the stream; the message's save is awaited at its first event, so
        # nothing of the answer is yielded before ``start`` and a failed save closes the model's stream (aclosing)
        async with aclosing(orchestrate(routes, request, prompt_version=prep.prompt_version, policy=policy)) as events:
            async for event in events:
                if saved is None:
                    saved = await self._saved(begun)
                    yield _started(saved)
                if isinstance(event, Finished):
                    done = await self._succeed(saved, event, prep, hits, judged, early)
                    offer = (done.escalation["rule"], done.escalation["action"]) if done.escalation else None
                    observe_turn(got.conversation_id, "answered", event.calls, offer)
                    yield done
                elif isinstance(event, GaveUp):
                    calls = _judge_calls(judged) + event.calls
                    failed = await self._fail(saved, calls, "providers_unavailable", prep, ws.id)
                    observe_turn(got.conversation_id, "providers_unavailable", event.calls)
                    yield failed
                else:
                    yield event

    async def sandbox(
        self,
        workspace: Workspace,
        live: LivePrompt,
        source: dict[str, Any],
        messages: list[str],
        by: UUID,
        kind: str = "sandbox",
    ) -> AsyncIterator[SandboxTurnStarted | base.TextDelta | Restart | TurnDone | TurnError]:
        """Run ``live``'s content over scripted visitor messages, turn after turn, exactly as a production turn
        (prompt assembly, escalation engine, provider routing, retry and fallback) but without a Conversation:
        every turn is recorded in a new ``SandboxRun`` stream, so no production read model (analytics, usage
        and budget, transcripts, audit) counts it. The monthly budget is not applied (the run is not usage)."""
        prep = prepare(workspace, live)
        settings = prep.settings
        run = SandboxRun(workspace.id, by, source, prep.prompt_version, {"messages": list(messages)}, kind)
        await self.run(self.app.save, run)
        own = await self.run(self.own_providers, workspace.id)
        turns: list[Turn] = []
        outcome = "completed"
        for number, text in enumerate(messages, start=1):
            message_id = str(uuid4())
            yield SandboxTurnStarted(run.id, number, message_id, prep.prompt_version, source)
            turns.append(Turn("user", text))
            visitor = [t.text for t in turns if t.role == "user"]
            early = decide_escalation(visitor, turns=len(visitor), rules=prep.rules)
            if early.escalates:
                answer = early.message or ""
                for n, word in enumerate(answer.split(" ")):
                    yield base.TextDelta(word if n == 0 else " " + word)
                done = TurnDone(
                    str(uuid4()), message_id, totals([])[0], "0", 1.0, early.topic, "escalation", "rules",
                    prep.prompt_version, 0, False, _summary(early),
                )  # fmt: skip
                turns.append(Turn("assistant", answer))
                personal = {"text": text, "answer": answer}
                run.turn_answered(number, "escalated", _facts(done), [], early.to_dict(), personal)
                await self.run(self.app.save, run)
                yield done
                continue
            history = window(turns, settings.max_history_turns)
            hits = await self.run(self.search, workspace, text)
            system = prep.system_with(hits)

            def request(
                model: str, history: list[Turn] = history, system: str = system, hits: list[KnowledgeHit] = hits
            ) -> base.PromptRequest:
                return base.PromptRequest(model, system, prep.examples, history, settings.max_response_tokens, hits)

            routes = self.routes_for(workspace, settings, settings.primary_model, own)
            result: TurnDone | TurnError | None = None
            policy = self.policy_for(settings)
            async for event in orchestrate(routes, request, prompt_version=prep.prompt_version, policy=policy):
                if isinstance(event, Finished):
                    judged, topic, _ = judge(text, " ".join(visitor), event, prep, hits)
                    confidence = judged.final
                    offer = with_confidence(early, confidence, prep.rules)
                    decision = offer if offer.action == "offer" else None
                    usage, cost = totals(event.calls)
                    result = TurnDone(
                        str(uuid4()), message_id, usage, cost, confidence, topic, event.provider, event.model,
                        prep.prompt_version, len(event.calls), event.provider == "offline",
                        _summary(decision) if decision is not None else None,
                    )  # fmt: skip
                    turns.append(Turn("assistant", event.text))
                    calls = [call_facts(c) for c in event.calls]
                    escalation = decision.to_dict() if decision is not None else None
                    personal = {"text": text, "answer": event.text}
                    run.turn_answered(number, "answered", _facts(result), calls, escalation, personal)
                elif isinstance(event, GaveUp):
                    message = "The AI assistant is unavailable right now: no provider answered this turn."
                    result = TurnError("providers_unavailable", message)
                    calls = [call_facts(c) for c in event.calls]
                    run.turn_answered(number, "failed", {"code": result.code}, calls, None, {"text": text})
                else:
                    yield event
            await self.run(self.app.save, run)
            if result is not None:
                yield result
            if not isinstance(result, TurnDone):
                outcome = "failed"
                break
        run.finish(len(run.turns), outcome)
        await self.run(self.app.save, run)

    @staticmethod
    def _visitor(got: receive.MessageReceived) -> tuple[list[str], int]:
        """The visitor's messages the rules read (all of them, or those since an agent last returned the chat to
        the AI) and the turn count."""
        conversation = got.conversation
        turns = conversation.turns_for_rules if conversation is not None else got.history
        visitor = [t.text for t in turns if t.role == "user"]
        count = conversation.user_turns if conversation is not None and not conversation.returned else len(visitor)
        return visitor, count

    def _decide(
        self,
        got: receive.MessageReceived,
        prep: Prepared,
        confidence: float | None = None,
        judged: llm_judge.Judged | None = None,
    ) -> Decision:
        """The escalation engine over the visitor's messages (docs/escalation.md), with the LLM judge's verdict
        (or the record of its failure) when it was asked."""
        visitor, count = self._visitor(got)
        verdict = judged.verdict if judged is not None else None
        failed = judged.failed_layer() if judged is not None else None
        return decide_escalation(
            visitor, turns=count, confidence=confidence, rules=prep.rules, verdict=verdict, judge_failed=failed
        )

    async def _judge(
        self, ws: Workspace, got: receive.MessageReceived, prep: Prepared, early: Decision
    ) -> llm_judge.Judged | None:
        """Ask the LLM judge about an uncertain decision, on the workspace's cheap (budget) model, when a key for
        its provider is set (the workspace's own first), the trial has not ended and the monthly budget is not
        spent; None when it is not asked (docs/escalation.md, "The LLM judge")."""
        settings = prep.settings
        if self.judge_timeout_s is None or ws.trial_over(self.clock()):
            return None
        own = self._fresh(self._own, ws.id)
        if own is None:
            own = await self.run(self.own_providers, ws.id)
        route = self.providers.routes(settings.budget_model, settings.budget_model, own)[0]
        if route.provider is self.providers.offline:
            return None
        used = self._fresh(self._usage, ws.id)
        if decide_budget(settings, used if used is not None else await self.run(self.tokens_this_month, ws.id)).refuse:
            return None
        visitor, _ = self._visitor(got)
        topics = [name for name, _ in prep.topics]
        return await llm_judge.ask(
            route.provider,
            route.model,
            visitor[-20:],
            topics,
            prompt_version=prep.prompt_version,
            timeout_s=self.judge_timeout_s,
        )

    async def _escalate(
        self, got: receive.MessageReceived, decision: Decision, prep: Prepared, judged: llm_judge.Judged | None = None
    ) -> TurnDone:
        """Record ``Escalated`` and the holding message as the turn's reply (provider escalation, model rules);
        the LLM judge's call, when it was asked, as the turn's ``ModelCallMade``."""
        text = decision.message or ""
        workspace_id = prep.workspace.id if prep.workspace else None
        knowledge = {**GAP_ONLY, "workspace_id": workspace_id, "gap_reasons": ["escalated"]}  # docs/knowledge.md
        reply = record.Reply(
            str(uuid4()), text, 1.0, decision.topic, "escalation", "rules", prep.prompt_version, None, knowledge,
            got.history[-1].text,
        )  # fmt: skip
        calls = _judge_calls(judged)
        command = record.RecordReply(got.conversation_id, got.message_id, calls, reply=reply, decision=decision)
        self._hold(await self.run(record.execute, self.app, command, got.conversation))
        usage, cost = totals(calls)
        return TurnDone(
            reply.message_id,
            got.message_id,
            usage,
            cost if calls else "0",
            1.0,
            decision.topic,
            "escalation",
            "rules",
            prep.prompt_version,
            0,
            False,
            _summary(decision),
        )

    async def _succeed(
        self,
        got: receive.MessageReceived,
        fin: Finished,
        prep: Prepared,
        hits: list[KnowledgeHit],
        judgement: llm_judge.Judged | None = None,
        early: Decision | None = None,
    ) -> TurnDone:
        visitor = " ".join(t.text for t in got.history if t.role == "user")
        question = got.history[-1].text
        judged, topic, parts = judge(question, visitor, fin, prep, hits)
        confidence = judged.final
        # ``early``: the decision made before the model was called, on the same messages, rules and verdict: the
        # confidence is all that is new, so it is not read again (domain/escalation.with_confidence, ADR 0064)
        offer = (
            with_confidence(early, confidence, prep.rules)
            if early is not None
            else self._decide(got, prep, confidence, judgement)
        )
        decision = offer if offer.action == "offer" else None
        if judgement is not None and judgement.verdict is not None:
            topic = offer.topic  # the engine's topic with the judge's verdict (the judge's, unless a legal matter)
        workspace_id = prep.workspace.id if prep.workspace else None
        knowledge = provenance(workspace_id, fin, hits, judged.retrieval, offered=offer.rule == LOW_CONFIDENCE)
        reply = record.Reply(
            str(uuid4()), fin.text, confidence, topic, fin.provider, fin.model, prep.prompt_version, parts,
            knowledge, question if knowledge["gap"] else None,
        )  # fmt: skip
        calls = _judge_calls(judgement) + fin.calls
        command = record.RecordReply(got.conversation_id, got.message_id, calls, reply=reply, decision=decision)
        self._hold(await self.run(record.execute, self.app, command, got.conversation))
        usage, cost = totals(calls)
        return TurnDone(
            reply.message_id,
            got.message_id,
            usage,
            cost,
            confidence,
            topic,
            fin.provider,
            fin.model,
            prep.prompt_version,
            len(fin.calls),
            fin.provider == "offline",
            _summary(decision) if decision is not None else None,
            knowledge["citations"],
        )

    async def _fail(
        self, got: receive.MessageReceived, calls: list[ModelCall], code: str, prep: Prepared, workspace_id: UUID
    ) -> TurnError:
        """No AI answer (budget spent, every provider failed): the attempts, the conversation queued for a person
        (``Escalated`` with rule ``ai_unavailable``, business hours applied) and ``TurnFailed``, in one write; the
        visitor is told that a person will reply (docs/ai.md, "When no AI can answer")."""
        conversation = got.conversation
        turns = conversation.turns if conversation is not None else got.history
        visitor = [t.text for t in turns if t.role == "user"]
        decision = unavailable(code, visitor, prep.rules)
        decision = apply_hours(decision, await self.run(self.app_settings, workspace_id), self.clock())
        message = decision.message or ""
        failure = record.Failure(code, message)
        command = record.RecordReply(got.conversation_id, got.message_id, calls, failure=failure, decision=decision)
        self._hold(await self.run(record.execute, self.app, command, got.conversation))
        return TurnError(code, message, _summary(decision))


def judge(
    question: str, visitor: str, fin: Finished, prep: Prepared, hits: list[KnowledgeHit]
) -> tuple[Confidence, str, dict[str, Any]]:
    """The reply's confidence (with the model's self-assessment and the best retrieved chunk's support), its topic
    (rules, then the model's), and both parts as recorded on AssistantReplied (docs/ai.md)."""
    support = max((h.support for h in hits), default=0.0)
    judged = assess(question, fin.text, support, fin.assessment.confidence)
    by_rules = topic_of(visitor, prep.topics)
    by_model = known_topic(fin.assessment.topic, [name for name, _ in prep.topics])
    parts = {**judged.to_dict(), "topic_by_rules": by_rules, "topic_by_model": by_model}
    return judged, combined_topic(by_rules, by_model), parts


# What a reply the model did not write (a rule handed the turn to a person) records of the knowledge base.
GAP_ONLY: dict[str, Any] = {"retrieved": [], "citations": [], "support": None, "gap": True}


def provenance(
    workspace_id: UUID | None, fin: Finished, hits: list[KnowledgeHit], support: float, offered: bool = False
) -> dict[str, Any]:
    """What the reply event records of the knowledge base: the chunks retrieved (article, version, chunk, score,
    support), the articles the answer cites (only retrieved ones), the best support, and whether the question is a
    knowledge gap and why (``gap_reasons``: ``low_support``, support below ``GAP_SUPPORT``; ``offered``, the answer's
    confidence was low enough to offer a person; the knowledge read model lists it)."""
    reasons = [r for r, on in (("low_support", support < GAP_SUPPORT), ("offered", offered)) if on]
    return {
        "workspace_id": workspace_id,
        "retrieved": [h.provenance() for h in hits],
        "citations": citations_of(fin.sources, hits),
        "support": support,
        "gap": bool(reasons),
        "gap_reasons": reasons,
    }


class _Redecided(Exception):
    """The message's save met a concurrent write and decided it again: ``stored`` is the conversation to answer."""

    def __init__(self, stored: receive.MessageReceived) -> None:
        super().__init__("the conversation changed while the message was saved")
        self.stored = stored


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    """Set ``future`` unless it is already done (the event loop's side of a worker thread's answer)."""
    if not future.done():
        future.set_result(value)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a side task's failure as seen (whoever awaits it still gets it): no "never retrieved" log for a search
    the turn did not need."""
    if not future.cancelled():
        future.exception()


def _started(got: receive.MessageReceived) -> TurnStarted:
    """``start``: the visitor's message is saved."""
    return TurnStarted(got.conversation_id, got.message_id, got.visitor_token)


def _judge_calls(judged: llm_judge.Judged | None) -> list[ModelCall]:
    """The LLM judge's call, recorded before the turn's own (an empty list when it was not asked)."""
    return [] if judged is None else [judged.call]


def _facts(done: TurnDone) -> dict[str, Any]:
    """What a sandbox turn records of its answer."""
    return {
        "usage": done.usage,
        "cost_usd": done.cost_usd,
        "confidence": done.confidence,
        "topic": done.topic,
        "provider": done.provider,
        "model": done.model,
        "prompt_version": done.prompt_version,
        "attempts": done.attempts,
        "offline": done.offline,
    }


def _summary(decision: Decision) -> dict[str, Any]:
    """What the visitor's client is told in ``done.escalation``."""
    return {
        "rule": decision.rule,
        "priority": decision.priority,
        "route": decision.route,
        "action": decision.action,
        "message": decision.message,
        "after_hours": decision.after_hours,
        "next_open_at": decision.next_open_at,
    }
