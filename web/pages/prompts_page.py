"""The prompt studio (/app/prompts) and the escalation rules screen (/app/rules).

Admins write (``prompts.edit``), agents read (``prompts.read``). Every action calls the same commands as
/api/admin/prompts (save, publish, review, discard, roll back, replay) under the same guards; the sandbox's stream
is the JSON API's own (``POST /api/admin/prompts/sandbox``, read by web/static/studio.js). An action is an htmx
POST whose answer is a fragment: a refusal shows the command's sentence where the action was, and the form stays
as the person typed it (only the status line is swapped). See docs/prompt-studio.md.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from commands._prompt_config import check_models, read_config
from commands.chat_turn.service import ChatService
from commands.decide_escalation import cmd as decide_cmd
from commands.discard_prompt_draft import cmd as discard_cmd
from commands.publish_prompt import cmd as publish_cmd
from commands.review_prompt_draft import cmd as review_cmd
from commands.roll_back_prompt import cmd as roll_back_cmd
from commands.run_sandbox import cmd as sandbox_cmd
from commands.save_prompt_draft import cmd as save_cmd
from domain.errors import Conflict, DomainError, InvalidInput, NotFound
from domain.prompt_config import VersionConflict
from domain.prompt_content import PromptContent
from domain.prompt_content import diff as diff_contents
from read_api._analytics import AnalyticsSource
from web.guards import GUARDS
from web.pages._render import html, is_htmx, render
from web.pages.prompt_forms import TAB_KEYS, TABS, changes_from_form, side_by_side
from web.pages.prompt_studio import KIND_LABELS, MODELS, Studio, currencies, languages, read_studio
from web.pages.shell import Shell, shell_of
from web.prompts_controller import replay_document

READ, EDIT, TEST = [GUARDS["prompts.read"]], [GUARDS["prompts.edit"]], [GUARDS["escalation.test"]]
FIELD_LABELS = dict(TABS)
RULES = {
    "p1_legal": "P1 · Legal or compliance",
    "p2_refund_over_threshold": "P2 · Refund over the threshold",
    "human_requested": "A person asked for",
    "p3_turn_limit": "P3 · Turn limit",
    "low_confidence": "Confidence threshold",
    "none": "No rule fires",
}
ACTIONS = {
    "escalate": "Escalates: the AI does not answer, a person takes over",
    "offer": "The AI answers and offers a person",
    "none": "The AI answers",
}


async def _run(fn: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args)


def _context(shell: Shell, studio: Studio, tab: str, **extra: Any) -> dict[str, Any]:
    return {
        "shell": shell,
        "s": studio,
        "tab": tab,
        "tabs": TABS,
        "v": studio.values(),
        "editable": shell.can("prompts.edit"),
        "can_test": shell.can("escalation.test"),
        "kinds": KIND_LABELS,
        "field_labels": FIELD_LABELS,
        "models": MODELS,
        "languages": languages(),
        "currencies": currencies(studio.content),
        "screen": "prompts",
        **extra,
    }


def _fragment(
    request: Request[Any, Any, Any], body: str, status: int, headers: dict[str, str] | None = None
) -> Response[str]:
    """htmx swaps only 2xx answers: a refusal it should show is a 200 to htmx, its real status otherwise."""
    return html(body, 200 if is_htmx(request) else status, headers)


def _done(request: Request[Any, Any, Any], target: str) -> Response[str]:
    """After a change that moves the live version: the whole page again (history, header, drafts)."""
    if is_htmx(request):
        return html("", headers={"HX-Redirect": target})
    return Response("", status_code=303, headers={"Location": target})


def _error(request: Request[Any, Any, Any], err: DomainError, **extra: Any) -> Response[str]:
    body = render("partials/prompts_message.html.j2", kind="error", message=err.message, code=err.code, **extra)
    status = 404 if isinstance(err, NotFound) else 409 if isinstance(err, Conflict) else 422
    return _fragment(request, body, status)


async def _form(request: Request[Any, Any, Any]) -> Any:
    return await request.form()


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _base(chat: ChatService, workspace_id: UUID, draft_id: str) -> PromptContent:
    """The content a form's changes apply to: the draft's, else the live version's (NotFound for a lost draft)."""
    config = read_config(chat.app, workspace_id)
    return config.draft(draft_id).content if draft_id else config.live.content


@get("/app/prompts", guards=READ, include_in_schema=False, name="prompts")
async def prompts(
    request: Request[Any, Any, Any],
    chat: ChatService,
    tab: str = "system_prompt",
    draft: Annotated[str | None, QueryParameter(max_length=64)] = None,
    published: int | None = None,
    rolled_back: int | None = None,
) -> Response[str]:
    """The prompt studio: the live version, the editor of a draft (one tab at a time), the sandbox, replay,
    publish, history, compare and roll back."""
    shell = await shell_of(request, "prompts")
    studio = await _run(read_studio, chat, shell.member.workspace_id, draft)
    tab = tab if tab in TAB_KEYS else "system_prompt"
    context = _context(shell, studio, tab, published=published, rolled_back=rolled_back)
    return html(render("pages/prompts.html.j2", **context))


@get("/app/rules", guards=READ, include_in_schema=False, name="rules")
async def rules(
    request: Request[Any, Any, Any],
    chat: ChatService,
    draft: Annotated[str | None, QueryParameter(max_length=64)] = None,
) -> Response[str]:
    """The escalation rules as cards, editable as part of a draft, with "try a message"."""
    shell = await shell_of(request, "rules")
    studio = await _run(read_studio, chat, shell.member.workspace_id, draft)
    return html(render("pages/rules.html.j2", **_context(shell, studio, "escalation", screen="rules")))


@post("/app/prompts/check", guards=EDIT, include_in_schema=False, name="prompts_check", status_code=200)
async def check(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Validation as the admin types: the draft as it would be saved, or the sentence saying what is wrong."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    tab = _text(form, "tab")
    try:
        base = await _run(_base, chat, shell.member.workspace_id, _text(form, "draft_id"))
        content = base.with_changes(changes_from_form(tab, form, base))
        check_models(content)
    except DomainError as err:
        return _error(request, err)
    changed = [FIELD_LABELS[f] for f in content.changed_fields(base)]
    if changed:
        message = f"Looks good: {', '.join(changed)} changed, not saved yet."
    else:
        message = "Looks good, and saved in the draft." if _text(form, "draft_id") else "Looks good: no changes yet."
    return html(render("partials/prompts_message.html.j2", kind="ok", message=message, code="valid"))


@post("/app/prompts/save", guards=EDIT, include_in_schema=False, name="prompts_save", status_code=200)
async def save(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Save the tab's fields into the draft (a new draft from the live version when none is open)."""
    shell = await shell_of(request, "prompts")
    ws, by = shell.member.workspace_id, shell.member.account_id
    form = await _form(request)
    tab, draft_id = _text(form, "tab"), _text(form, "draft_id")
    try:
        base = await _run(_base, chat, ws, draft_id)
        command = save_cmd.SavePromptDraft(ws, by, changes_from_form(tab, form, base), draft_id or None)
        saved = await _run(save_cmd.execute, chat.app, command)
    except DomainError as err:
        response = _error(request, err)
        response.headers["HX-Trigger"] = json.dumps({"chatassist:draft-refused": {"message": err.message}})
        return response
    studio = await _run(read_studio, chat, ws, saved.draft_id)
    if not is_htmx(request):
        return Response("", status_code=303, headers={"Location": f"/app/prompts?tab={tab}&draft={saved.draft_id}"})
    screen = "rules" if _text(form, "screen") == "rules" else "prompts"
    context = _context(shell, studio, tab if tab in TAB_KEYS else "system_prompt", screen=screen)
    body = render("partials/prompts_saved.html.j2", **context)
    back = f"/app/{screen}"
    headers = {
        "HX-Trigger": json.dumps({"chatassist:draft-saved": {"draft_id": saved.draft_id}}),
        "HX-Replace-Url": f"{back}?{'' if back == '/app/rules' else f'tab={tab}&'}draft={saved.draft_id}",
    }
    return html(body, headers=headers)


@post("/app/prompts/publish", guards=EDIT, include_in_schema=False, name="prompts_publish", status_code=200)
async def publish(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Publish the draft with its change note; a version published meanwhile is shown with a way forward."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    based = _text(form, "based_on_version")
    command = publish_cmd.PublishPrompt(
        shell.member.workspace_id,
        shell.member.account_id,
        _text(form, "draft_id"),
        _text(form, "note"),
        int(based) if based.isdigit() else None,
    )
    try:
        version = await _run(publish_cmd.execute, chat.app, command)
    except VersionConflict as err:
        studio = await _run(read_studio, chat, shell.member.workspace_id, command.draft_id)
        since = [
            {**entry, "by_name": studio.name(UUID(entry["by"])) if entry["by"] else "—",
             "fields": [FIELD_LABELS.get(f, f) for f in entry["changed_fields"]]}
            for entry in err.published_since
        ]  # fmt: skip
        body = render(
            "partials/prompts_conflict.html.j2", err=err, since=since, s=studio, based=command.based_on_version
        )
        return _fragment(request, body, 409)
    except DomainError as err:
        return _error(request, err)
    return _done(request, f"/app/prompts?published={version.version}")


@post("/app/prompts/review", guards=EDIT, include_in_schema=False, name="prompts_review", status_code=200)
async def review(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """A second admin approves or rejects the draft (the approval gate)."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    draft_id = _text(form, "draft_id")
    approve = _text(form, "decision") == "approve"
    command = review_cmd.ReviewPromptDraft(
        shell.member.workspace_id, shell.member.account_id, draft_id, approve, _text(form, "review_note")
    )
    try:
        await _run(review_cmd.execute, chat.app, command)
    except DomainError as err:
        return _error(request, err)
    return _done(request, f"/app/prompts?draft={draft_id}")


@post("/app/prompts/discard", guards=EDIT, include_in_schema=False, name="prompts_discard", status_code=200)
async def discard(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Discard the draft."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    command = discard_cmd.DiscardPromptDraft(
        shell.member.workspace_id, shell.member.account_id, _text(form, "draft_id")
    )
    try:
        await _run(discard_cmd.execute, chat.app, command)
    except DomainError as err:
        return _error(request, err)
    return _done(request, "/app/prompts")


@post("/app/prompts/rollback", guards=EDIT, include_in_schema=False, name="prompts_rollback", status_code=200)
async def rollback(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Make an earlier version live again, in one action (it becomes the next version)."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    target = _text(form, "to_version")
    try:
        if not target.isdigit():
            raise InvalidInput("Choose the version to roll back to.", code="invalid_request")
        note = _text(form, "note") or f"Rolled back to version {target}"
        command = roll_back_cmd.RollBackPrompt(shell.member.workspace_id, shell.member.account_id, int(target), note)
        version = await _run(roll_back_cmd.execute, chat.app, command)
    except DomainError as err:
        return _error(request, err)
    return _done(request, f"/app/prompts?rolled_back={version.version}")


@post("/app/prompts/replay", guards=EDIT, include_in_schema=False, name="prompts_replay", status_code=200)
async def replay(request: Request[Any, Any, Any], chat: ChatService, analytics: AnalyticsSource) -> Response[str]:
    """Counterfactual replay of the latest real conversations with the draft (or the live version)."""
    shell = await shell_of(request, "prompts")
    form = await _form(request)
    draft_id, version, last = _text(form, "draft_id"), _text(form, "version"), _text(form, "last")
    try:
        if not last.isdigit():
            raise InvalidInput("Choose how many of the latest conversations to replay (1 to 20).", code="out_of_range")
        command = sandbox_cmd.Replay(
            shell.member.workspace_id,
            shell.member.account_id,
            draft_id or None,
            None if draft_id or not version.isdigit() else int(version),
            int(last),
        )
        document = await replay_document(chat, analytics, command)
    except DomainError as err:
        return _error(request, err)
    labels = {"escalate": "Escalates", "offer": "Offers a person", "none": "AI answers"}
    return html(render("partials/prompts_replay.html.j2", r=document, labels=labels, rules=RULES))


@get("/app/prompts/diff", guards=READ, include_in_schema=False, name="prompts_diff")
async def compare(
    request: Request[Any, Any, Any],
    chat: ChatService,
    from_version: Annotated[int | None, QueryParameter(name="from")] = None,
    to_version: Annotated[int | None, QueryParameter(name="to")] = None,
) -> Response[str]:
    """Two versions side by side: the system prompt line by line, and every other field's changes."""
    shell = await shell_of(request, "prompts")
    studio = await _run(read_studio, chat, shell.member.workspace_id, None)
    numbers = sorted(studio.config.versions)
    new_no = to_version if to_version is not None else studio.config.live_version
    old_no = from_version if from_version is not None else max([n for n in numbers if n < new_no] or [new_no])
    old, new = studio.config.get_version(old_no), studio.config.get_version(new_no)
    context = {
        **_context(shell, studio, "system_prompt"),
        "old": old,
        "new": new,
        "numbers": numbers,
        "rows": side_by_side(old.content.system_prompt, new.content.system_prompt),
        "d": diff_contents(old.content, new.content),
        "changed": [FIELD_LABELS[f] for f in new.content.changed_fields(old.content)],
        "old_examples": {e["id"]: e for e in old.content.examples},
        "new_examples": {e["id"]: e for e in new.content.examples},
    }
    return html(render("pages/prompts_diff.html.j2", **context))


@post("/app/rules/try", guards=TEST, include_in_schema=False, name="rules_try", status_code=200)
async def try_message(request: Request[Any, Any, Any], chat: ChatService) -> Response[str]:
    """Which rule fires for a visitor message, and why, with the rules as they stand in the form (not saved)."""
    shell = await shell_of(request, "rules")
    form = await _form(request)
    confidence, turn = _text(form, "try_confidence"), _text(form, "try_turn")
    try:
        base = await _run(_base, chat, shell.member.workspace_id, _text(form, "draft_id"))
        content = base.with_changes(changes_from_form("escalation", form, base)) if form.get("low_confidence") else base
        try:
            conf = float(confidence.replace(",", ".")) / 100 if confidence else None
            turns = int(turn) if turn else None
        except ValueError:
            raise InvalidInput(
                "AI confidence is a percentage and the turn a whole number.", code="out_of_range"
            ) from None
        command = decide_cmd.DecideEscalation(shell.member.workspace_id, [_text(form, "try_message")], conf, turns)
        decision = decide_cmd.decide_with(content, command)
    except DomainError as err:
        return _error(request, err)
    found = decision.evidence
    evidence = {k: v for k, v in found.items() if isinstance(v, str | int | float | bool) and v is not None}
    context = {
        "d": decision,
        "rules": RULES,
        "actions": ACTIONS,
        "evidence": evidence,
        "matched": [m for m in found.get("matched", []) if isinstance(m, str)],
        "layers": [layer for layer in found.get("layers", []) if isinstance(layer, dict)],
    }
    return html(render("partials/rules_decision.html.j2", **context))


PROMPT_SCREENS = [prompts, rules, check, save, publish, review, discard, rollback, replay, compare, try_message]
