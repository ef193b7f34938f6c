"""/api/admin/prompts: the assistant's versioned prompt configuration (drafts, publish, history, diff, rollback).

Admins write (``prompts.edit``); admins and agents read (``prompts.read``). Every write is an event on the
workspace's PromptConfig naming its actor; a refused request writes nothing. See docs/prompts.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.params import QueryParameter

from commands._prompt_config import read_config
from commands.ai.base import TextDelta
from commands.ai.orchestrator import Restart
from commands.chat_turn.detach import detached
from commands.chat_turn.service import ChatService, SandboxTurnStarted, TurnDone, TurnError
from commands.discard_prompt_draft import cmd as discard_cmd
from commands.publish_prompt import cmd as publish_cmd
from commands.review_prompt_draft import cmd as review_cmd
from commands.roll_back_prompt import cmd as roll_back_cmd
from commands.run_sandbox import cmd as sandbox_cmd
from commands.save_prompt_draft import cmd as save_cmd
from domain.errors import InvalidInput
from domain.prompt_config import MAX_NOTE_CHARS, Draft, PromptConfig, PromptVersion, VersionConflict, prompt_config_id
from domain.prompt_content import PromptContent
from domain.prompt_content import diff as diff_contents
from read_api._analytics import AnalyticsSource
from read_api.recent_conversations import recent_conversation_ids
from web.auth import Member
from web.chat import sse, wants_json
from web.guards import GUARDS
from web.sse import event_stream, frame

READ = [GUARDS["prompts.read"]]
EDIT = [GUARDS["prompts.edit"]]
DraftId = Annotated[str, msgspec.Meta(max_length=64)]
Note = Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)]


class Example(msgspec.Struct):
    """A few-shot example: a visitor message and the ideal answer."""

    id: str
    user: str
    assistant: str


class Content(msgspec.Struct):
    """A version's or draft's content. ``escalation``: thresholds, keywords, routing, holding_messages.
    ``persona``: tone, language, max_response_words, max_response_tokens, escalation_threshold, primary_model,
    fallback_model."""

    system_prompt: str
    examples: list[Example]
    topic_rules: dict[str, list[str]]
    escalation: dict[str, Any]
    persona: dict[str, Any]


class VersionView(msgspec.Struct):
    """A version as it went live; ``kind``: initial (the prompt before versioning), published or rollback."""

    version: int
    kind: str
    by: str | None
    at: str | None
    note: str
    based_on_version: int | None
    restored_version: int | None
    from_draft: str | None
    approved_by: str | None
    content: Content


class DraftView(msgspec.Struct):
    """An unpublished draft, the live version it was started from, who saved it (``by``: last) and its review:
    pending (again after every change), approved or rejected by a second admin."""

    draft_id: str
    based_on_version: int
    by: str
    editors: list[str]
    review: str
    reviewed_by: str | None
    review_note: str
    content: Content


class PromptsView(msgspec.Struct):
    """The live version, whether versioning is in force (a version was published), and the drafts."""

    live_version: int
    versioned: bool
    live: VersionView
    drafts: list[DraftView]


class HistoryEntry(msgspec.Struct):
    """One change of the live version, with its author and the fields it changed."""

    version: int
    kind: str
    by: str | None
    at: str | None
    note: str
    based_on_version: int | None
    restored_version: int | None
    from_draft: str | None
    approved_by: str | None
    changed_fields: list[str]


class HistoryView(msgspec.Struct):
    """Every version, oldest first."""

    live_version: int
    versions: list[HistoryEntry]


class DiffView(msgspec.Struct):
    """Per field: ``changed``; the system prompt's unified line diff; examples and topic rules added, removed and
    modified by id / name; escalation and persona keys with their values before and after."""

    from_version: int
    to_version: int
    changed_fields: list[str]
    fields: dict[str, Any]


class DraftBody(msgspec.Struct, forbid_unknown_fields=True):
    """Any subset of the content: system_prompt, examples and topic_rules replace; escalation and persona merge
    key by key. A new draft starts from the live version's content."""

    system_prompt: str | None = None
    examples: list[Any] | None = None
    topic_rules: dict[str, Any] | None = None
    escalation: dict[str, Any] | None = None
    persona: dict[str, Any] | None = None

    def changes(self) -> dict[str, Any]:
        """The fields given."""
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not None}


class PublishBody(msgspec.Struct, forbid_unknown_fields=True):
    """``based_on_version``: the live version you reviewed (default: the one the draft was started from)."""

    note: Note = ""
    based_on_version: int | None = None


class ReviewBody(msgspec.Struct, forbid_unknown_fields=True):
    """Why the draft is approved or rejected (optional)."""

    note: Note = ""


class RollbackBody(msgspec.Struct, forbid_unknown_fields=True):
    """Make ``to_version``'s content live again, as a new version."""

    to_version: int
    note: Note = ""


class SandboxBody(msgspec.Struct, forbid_unknown_fields=True):
    """Either ``draft_id`` or ``version``; 1 to 10 visitor messages (each at most 4,000 characters), oldest
    first, answered one after another as one conversation."""

    messages: list[str]
    draft_id: DraftId | None = None
    version: int | None = None


class ReplayBody(msgspec.Struct, forbid_unknown_fields=True):
    """Either ``draft_id`` or ``version``; ``last``: the workspace's latest conversations to replay (1 to 20)."""

    last: int
    draft_id: DraftId | None = None
    version: int | None = None


def replay_row(conversation_id: UUID, production: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    """One replayed conversation: per turn the production answer and decision beside the draft's, and each side's
    conversation decision (the strongest of its turns)."""
    turns = []
    for n, prod in enumerate(production):
        ran = run["turns"][n] if n < len(run["turns"]) else {}
        escalation = (ran.get("done") or {}).get("escalation")
        draft = {
            "answer": ran.get("answer") if "done" in ran else None,
            "decision": escalation["action"] if escalation else "none",
            "rule": escalation["rule"] if escalation else None,
            "error": ran.get("error"),
        }
        turns.append(
            {"text": prod["text"], "production": {k: v for k, v in prod.items() if k != "text"}, "draft": draft}
        )
    return {
        "conversation_id": str(conversation_id),
        "run_id": run["run_id"],
        "production": {"decision": sandbox_cmd.strongest([t["production"]["decision"] for t in turns])},
        "draft": {"decision": sandbox_cmd.strongest([t["draft"]["decision"] for t in turns])},
        "turns": turns,
    }


async def replay_document(chat: ChatService, analytics: AnalyticsSource, command: sandbox_cmd.Replay) -> dict[str, Any]:
    """Counterfactual replay (the JSON API's and the prompt studio's): the latest conversations' visitor messages
    answered by the draft or version, beside production's answers and decisions, and the summary."""
    workspace_id, by = command.workspace_id, command.by
    found = await run(sandbox_cmd.check_replay, chat.app, command)
    rows = []
    for conversation_id in await run(recent_conversation_ids, analytics, workspace_id, command.last):
        production = await run(sandbox_cmd.production_turns, chat.app, workspace_id, conversation_id)
        if not production:
            continue
        source = {**found.source, "conversation_id": str(conversation_id)}
        messages = [t["text"] for t in production]
        events = detached(chat.sandbox(found.workspace, found.prompt, source, messages, by, kind="replay"))
        rows.append(replay_row(conversation_id, production, await sandbox_document(events)))
    return {"source": found.source, "summary": sandbox_cmd.summary(rows), "conversations": rows}


def sandbox_sse(event: Any) -> bytes:
    """``start`` names the run and the turn; the other events are /api/chat's."""
    if isinstance(event, SandboxTurnStarted):
        body = {
            "run_id": str(event.run_id),
            "turn": event.turn,
            "message_id": event.message_id,
            "prompt_version": event.prompt_version,
            "source": event.source,
        }
        return frame("start", body)
    return sse(event)


async def sandbox_document(events: AsyncIterator[Any]) -> dict[str, Any]:
    """The whole run as one JSON document: the run id, and per turn the answer and the ``done`` (or ``error``)."""
    run_id: str | None = None
    turns: list[dict[str, Any]] = []
    for_turn: dict[str, Any] = {}
    async for event in events:
        if isinstance(event, SandboxTurnStarted):
            run_id = str(event.run_id)
            for_turn = {"turn": event.turn, "message_id": event.message_id, "answer": "", "restarts": 0}
            for_turn |= {"prompt_version": event.prompt_version, "source": event.source}
            turns.append(for_turn)
        elif isinstance(event, TextDelta):
            for_turn["answer"] += event.text
        elif isinstance(event, Restart):
            for_turn["answer"], for_turn["restarts"] = "", for_turn["restarts"] + 1
        elif isinstance(event, TurnDone):
            for_turn["done"] = event.__dict__
        elif isinstance(event, TurnError):
            for_turn["error"] = {"code": event.code, "message": event.message}
    return {"run_id": run_id, "turns": turns}


def content_of(content: PromptContent) -> Content:
    """The response shape of a content."""
    data = content.to_dict()
    return Content(
        data["system_prompt"],
        [Example(**e) for e in data["examples"]],
        data["topic_rules"],
        data["escalation"],
        data["persona"],
    )


def times(chat: ChatService, workspace_id: UUID) -> dict[int, str]:
    """When each stored version went live (from the stored events' timestamps)."""
    out: dict[int, str] = {}
    for e in chat.app.events.get(prompt_config_id(workspace_id)):
        name = type(e).__name__
        number = getattr(e, "baseline_version", None) if name == "Created" else getattr(e, "version", None)
        if name in ("Created", "VersionPublished", "RolledBack") and isinstance(number, int):
            out[number] = e.timestamp.isoformat()  # type: ignore[attr-defined]
    return out


def version_view(v: PromptVersion, at: str | None) -> VersionView:
    """The response shape of a version."""
    by = str(v.by) if v.by else None
    return VersionView(
        v.version,
        v.kind,
        by,
        at,
        v.note,
        v.based_on_version,
        v.restored_version,
        v.from_draft,
        str(v.approved_by) if v.approved_by else None,
        content_of(v.content),
    )


def draft_view(d: Draft) -> DraftView:
    """The response shape of a draft."""
    return DraftView(
        d.draft_id,
        d.based_on_version,
        str(d.by),
        [str(e) for e in d.editors],
        d.review,
        str(d.reviewed_by) if d.reviewed_by else None,
        d.review_note,
        content_of(d.content),
    )


def prompts_view(chat: ChatService, workspace_id: UUID) -> PromptsView:
    """The live version and the drafts (blocks)."""
    config = read_config(chat.app, workspace_id)
    at = times(chat, workspace_id).get(config.live_version)
    drafts = [draft_view(d) for d in config.drafts.values()]
    return PromptsView(config.live_version, config.versioned, version_view(config.live, at), drafts)


def history_view(config: PromptConfig, at: dict[int, str]) -> HistoryView:
    """Every version with its author, time, note and changed fields."""
    entries: list[HistoryEntry] = []
    previous: PromptVersion | None = None
    for number in sorted(config.versions):
        v = config.versions[number]
        changed = v.content.changed_fields(previous.content) if previous else []
        entries.append(
            HistoryEntry(
                number,
                v.kind,
                str(v.by) if v.by else None,
                at.get(number),
                v.note,
                v.based_on_version,
                v.restored_version,
                v.from_draft,
                str(v.approved_by) if v.approved_by else None,
                changed,
            )
        )
        previous = v
    return HistoryView(config.live_version, entries)


def conflict(_: Request[Any, Any, Any], exc: VersionConflict) -> Response[dict[str, Any]]:
    """409 ``version_conflict`` with the versions published since the one the change was based on."""
    body = {"code": exc.code, "message": exc.message, "published_since": exc.published_since}
    return Response(body, status_code=409)


async def run(fn: Any, *args: Any) -> Any:
    """Blocking event-store work in a worker thread."""
    return await anyio.to_thread.run_sync(fn, *args)


class PromptsController(Controller):
    """Drafts, publish, rollback, history and diff of the assistant's prompt configuration."""

    path = "/api/admin/prompts"
    tags = ["prompts"]
    request_max_body_size = 1024 * 1024  # 50 examples of 2 x 4,000 characters and a 20,000-character prompt
    exception_handlers = {VersionConflict: conflict}

    @get("/", operation_id="getPrompts", guards=READ, summary="The live prompt version and the drafts")
    async def read(self, chat: ChatService, current_member: Member) -> PromptsView:
        """The live version's number and content, and every unpublished draft."""
        return await run(prompts_view, chat, current_member.workspace_id)  # type: ignore[no-any-return]

    @post("/drafts", operation_id="savePromptDraft", guards=EDIT, summary="Save a new draft")
    async def create_draft(self, data: DraftBody, chat: ChatService, current_member: Member) -> DraftView:
        """A new draft: the live content with the fields given (``DraftSaved``). 422 with a code for bad input."""
        command = save_cmd.SavePromptDraft(current_member.workspace_id, current_member.account_id, data.changes())
        return draft_view(await run(save_cmd.execute, chat.app, command))

    @put("/drafts/{draft_id:str}", operation_id="updatePromptDraft", guards=EDIT, summary="Change a draft")
    async def update_draft(
        self, draft_id: str, data: DraftBody, chat: ChatService, current_member: Member
    ) -> DraftView:
        """The fields given replace (or, for escalation and persona, merge into) the draft's. 404 unknown draft."""
        changes = data.changes()
        if not changes:
            raise InvalidInput("Send at least one field of the draft to change.", code="no_changes")
        command = save_cmd.SavePromptDraft(
            current_member.workspace_id, current_member.account_id, changes, draft_id[:64]
        )
        return draft_view(await run(save_cmd.execute, chat.app, command))

    @delete("/drafts/{draft_id:str}", operation_id="discardPromptDraft", guards=EDIT, summary="Discard a draft")
    async def discard_draft(self, draft_id: str, chat: ChatService, current_member: Member) -> None:
        """``DraftDiscarded``; 404 ``draft_not_found``."""
        command = discard_cmd.DiscardPromptDraft(current_member.workspace_id, current_member.account_id, draft_id)
        await run(discard_cmd.execute, chat.app, command)

    @post("/drafts/{draft_id:str}/publish", operation_id="publishPrompt", guards=EDIT, summary="Publish a draft")
    async def publish(self, draft_id: str, data: PublishBody, chat: ChatService, current_member: Member) -> VersionView:
        """The draft becomes the next live version (``VersionPublished``). 409 ``version_conflict`` (with
        ``published_since``) when the live version is no longer ``based_on_version``."""
        command = publish_cmd.PublishPrompt(
            current_member.workspace_id, current_member.account_id, draft_id, data.note, data.based_on_version
        )
        version = await run(publish_cmd.execute, chat.app, command)
        return version_view(version, (await run(times, chat, current_member.workspace_id)).get(version.version))

    @post("/drafts/{draft_id:str}/approve", operation_id="approvePromptDraft", guards=EDIT, summary="Approve")
    async def approve(self, draft_id: str, data: ReviewBody, chat: ChatService, current_member: Member) -> DraftView:
        """A second admin approves the draft (``DraftApproved``); 409 ``own_draft`` for its editors."""
        return await self._review(draft_id, True, data, chat, current_member)

    @post("/drafts/{draft_id:str}/reject", operation_id="rejectPromptDraft", guards=EDIT, summary="Reject")
    async def reject(self, draft_id: str, data: ReviewBody, chat: ChatService, current_member: Member) -> DraftView:
        """A second admin rejects the draft (``DraftRejected``); it stays a draft to change or discard."""
        return await self._review(draft_id, False, data, chat, current_member)

    async def _review(
        self, draft_id: str, approve: bool, data: ReviewBody, chat: ChatService, member: Member
    ) -> DraftView:
        command = review_cmd.ReviewPromptDraft(member.workspace_id, member.account_id, draft_id, approve, data.note)
        return draft_view(await run(review_cmd.execute, chat.app, command))

    @post("/rollback", operation_id="rollBackPrompt", guards=EDIT, summary="Roll back to an earlier version")
    async def roll_back(self, data: RollbackBody, chat: ChatService, current_member: Member) -> VersionView:
        """Version K's content goes live again as a new version (``RolledBack``). 404 ``version_not_found``."""
        command = roll_back_cmd.RollBackPrompt(
            current_member.workspace_id, current_member.account_id, data.to_version, data.note
        )
        version = await run(roll_back_cmd.execute, chat.app, command)
        return version_view(version, (await run(times, chat, current_member.workspace_id)).get(version.version))

    @post(
        "/sandbox",
        operation_id="runPromptSandbox",
        guards=EDIT,
        status_code=200,
        summary="Run a draft or version on scripted visitor messages (streamed; never counted in analytics)",
        media_type="text/event-stream",
        response_description="text/event-stream: per turn start, delta*, restart*, done | error",
    )
    async def sandbox(
        self, request: Request[Any, Any, Any], data: SandboxBody, chat: ChatService, current_member: Member
    ) -> Any:
        """Each message is answered in turn by the draft's (or version's) content through the production
        provider routing, retries and fallback, prompt assembly and escalation engine; the run is recorded as a
        ``SandboxRun`` stream. 404 ``draft_not_found`` / ``version_not_found``, 422 ``invalid_messages`` /
        ``invalid_source``; a refused request writes nothing. ``Accept: application/json``: one document."""
        command = sandbox_cmd.RunSandbox(
            current_member.workspace_id, current_member.account_id, data.draft_id, data.version, data.messages
        )
        found = await run(sandbox_cmd.resolve, chat.app, command)
        events = detached(
            chat.sandbox(found.workspace, found.prompt, found.source, found.messages, current_member.account_id)
        )
        if wants_json(request):
            return Response(await sandbox_document(events), media_type=MediaType.JSON)

        async def stream() -> AsyncIterator[bytes]:
            async for event in events:
                yield sandbox_sse(event)

        return event_stream(stream())

    @post(
        "/replay",
        operation_id="replayPromptOnConversations",
        guards=EDIT,
        status_code=200,
        summary="Counterfactual replay: a draft or version on the visitor messages of the latest real conversations",
    )
    async def replay(
        self, data: ReplayBody, chat: ChatService, analytics: AnalyticsSource, current_member: Member
    ) -> dict[str, Any]:
        """The visitor messages of the workspace's ``last`` conversations (newest first, read from their events)
        are answered in order by the draft (or version), each conversation as one ``SandboxRun`` (kind replay).
        Per conversation: production answers and escalation decisions beside the draft's; ``summary``: how many
        conversation decisions changed and in which direction (``none→escalate``). 404 ``draft_not_found`` /
        ``version_not_found``, 422 ``out_of_range`` / ``invalid_source``; a refused request writes nothing."""
        command = sandbox_cmd.Replay(
            current_member.workspace_id, current_member.account_id, data.draft_id, data.version, data.last
        )
        return await replay_document(chat, analytics, command)

    @get("/history", operation_id="getPromptHistory", guards=READ, summary="Every version with author and note")
    async def history(self, chat: ChatService, current_member: Member) -> HistoryView:
        """Version, kind (initial, published, rollback), author, time, note and the fields each changed."""

        def build() -> HistoryView:
            config = read_config(chat.app, current_member.workspace_id)
            return history_view(config, times(chat, current_member.workspace_id))

        return await run(build)  # type: ignore[no-any-return]

    @get("/versions/{version:int}", operation_id="getPromptVersion", guards=READ, summary="One version")
    async def version(self, version: int, chat: ChatService, current_member: Member) -> VersionView:
        """A version's content and provenance; 404 ``version_not_found``."""

        def build() -> VersionView:
            found = read_config(chat.app, current_member.workspace_id).get_version(version)
            return version_view(found, times(chat, current_member.workspace_id).get(version))

        return await run(build)  # type: ignore[no-any-return]

    @get("/diff", operation_id="diffPromptVersions", guards=READ, summary="Compare two versions")
    async def diff(
        self,
        chat: ChatService,
        current_member: Member,
        from_version: Annotated[int, QueryParameter(name="from", description="a version number")],
        to_version: Annotated[int, QueryParameter(name="to", description="a version number")],
    ) -> DiffView:
        """Per field: changed or not, with a unified line diff of the system prompt; 404 ``version_not_found``."""

        def build() -> DiffView:
            config = read_config(chat.app, current_member.workspace_id)
            old, new = config.get_version(from_version).content, config.get_version(to_version).content
            return DiffView(from_version, to_version, new.changed_fields(old), diff_contents(old, new))

        return await run(build)  # type: ignore[no-any-return]
