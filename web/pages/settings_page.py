"""Settings (Admins, ``settings.manage``): General / AI behaviour / Notifications / Billing, every application
setting of GET /api/settings in a form that PATCHes it back (web/static/admin.js), a live preview of the widget,
the storage used as a share of the plan's allowance, and the plan, trial days left, seats and token budget."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import anyio.to_thread
from litestar import Request, Response, get

from commands._common import load
from commands._lazy import read_or_none
from commands._prompt_config import live_prompt
from commands.change_app_settings.cmd import CHAT_FIELDS
from commands.chat_turn.service import ChatService
from domain.app_settings import LANGUAGES, WEEKDAYS, AppSettings, AppSettingsValues, app_settings_id
from domain.prompt_config import prompt_config_id
from domain.provider_keys import keyring_id
from domain.workspace import SEAT_LIMIT, STORAGE_ALLOWANCE, Workspace
from read_api._analytics import WorkspaceFacts, with_facts
from read_api._reads import AsyncReader
from read_api.get_overview.query import Overview, plan_overview
from read_api.get_storage_used.query import storage_used
from read_api.get_transcript.query import TranscriptSource
from web.auth import authenticate
from web.guards import GUARDS
from web.pages._render import compact, html, number, percent, render
from web.pages.models_page import model_choices
from web.pages.shell import shell_of

LANGUAGE_NAMES = {
    "en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "it": "Italiano", "pt": "Português",
    "nl": "Nederlands", "sv": "Svenska", "da": "Dansk", "no": "Norsk", "fi": "Suomi", "pl": "Polski",
    "ja": "日本語", "ko": "한국어", "zh": "中文",
}  # fmt: skip
DAY_NAMES = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
PLAN_NAMES = {"trial": "Free trial", "self_hosted": "Self-hosted", "team": "Team", "business": "Business"}
GROUPS = (("general", "General"), ("ai", "AI behaviour"), ("notifications", "Notifications"), ("billing", "Billing"))


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    """Every IANA zone this system knows, sorted (the API checks against the same zoneinfo)."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def size(n: int) -> str:
    """Bytes as "12.3 MB" / "1 GB"."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{number(n / scale, 1)} {unit}"
    return f"{number(n)} bytes"


def billing_facts(workspace: Workspace, now: datetime) -> dict[str, Any]:
    """Plan, trial days left (whole days, rounded up), whether the trial is over, seats."""
    ends = workspace.trial_ends_at
    left = max(0, math.ceil((ends - now).total_seconds() / 86400)) if ends and workspace.plan == "trial" else None
    return {
        "plan": workspace.plan,
        "plan_name": PLAN_NAMES.get(workspace.plan, workspace.plan),
        "trial_ends_at": ends,
        "trial_days_left": left,
        "trial_over": workspace.trial_over(now),
        "seats": len(workspace.members),
        "seat_limit": SEAT_LIMIT,
        "allowance": STORAGE_ALLOWANCE.get(workspace.plan, STORAGE_ALLOWANCE["self_hosted"]),
    }


@get("/app/settings", guards=[GUARDS["settings.manage"]], include_in_schema=False, name="settings")
async def settings_page(request: Request[Any, Any, Any], reader: AsyncReader, chat: ChatService) -> Response[str]:
    """Application settings and preferences."""
    shell = await shell_of(request, "settings")
    ws = shell.member.workspace_id

    def blocking() -> tuple[Any, Workspace, Any]:
        workspace = load(chat.app, ws, Workspace, "workspace", read_only=True)
        stored = read_or_none(chat.app, app_settings_id(ws), AppSettings)
        values = stored.values if stored else AppSettingsValues()
        chat_settings = workspace.settings
        view = {**values.to_dict(), **{name: getattr(chat_settings, name) for name in CHAT_FIELDS}}
        return view, workspace, live_prompt(chat.app, ws)

    current, workspace, live = await anyio.to_thread.run_sync(blocking)

    def plan(facts: WorkspaceFacts) -> Any:
        return plan_overview(ws, facts)

    ov: Overview = await reader.drive(with_facts(ws, plan))
    billing = billing_facts(workspace, datetime.now(UTC))
    budget = current["monthly_token_budget"]
    context = {
        "shell": shell,
        "s": current,
        "groups": GROUPS,
        "languages": [(code, f"{LANGUAGE_NAMES.get(code, code)} ({code})") for code in LANGUAGES],
        "days": list(DAY_NAMES.items()),
        "zones": [(z, z) for z in time_zones()]
        + ([] if current["time_zone"] in time_zones() else [(current["time_zone"],) * 2]),
        "models": [(m.name, m.label) for m in model_choices()],
        "live_version": live.version if live else None,
        "live_max_tokens": live.content.persona["max_response_tokens"] if live else None,
        "billing": billing,
        "tokens_text": f"{compact(ov.tokens_this_month.value)} of {compact(budget)} tokens used this month"
        if budget
        else f"{compact(ov.tokens_this_month.value)} tokens used this month (no budget)",
        "budget_used": percent(ov.budget_used, 0) if ov.budget_used is not None else None,
    }
    return html(render("pages/settings.html.j2", **context))


@get("/app/settings/storage", guards=[GUARDS["settings.manage"]], include_in_schema=False, name="settings_storage")
async def settings_storage(
    request: Request[Any, Any, Any], chat: ChatService, transcripts: TranscriptSource
) -> Response[str]:
    """The storage the workspace's events use, as a share of its plan's allowance: loaded after the page (a read of
    the running total the transcript runner keeps, ADR 0061; it writes nothing)."""
    member = await authenticate(request)
    ws = member.workspace_id

    def blocking() -> tuple[int, Workspace]:
        workspace = load(chat.app, ws, Workspace, "workspace", read_only=True)
        own = [app_settings_id(ws), keyring_id(ws), prompt_config_id(ws)]
        return storage_used(transcripts, ws, own), workspace

    used, workspace = await anyio.to_thread.run_sync(blocking)
    await shell_of(request, "settings")  # the workspace's language for the figures
    allowance = STORAGE_ALLOWANCE.get(workspace.plan, STORAGE_ALLOWANCE["self_hosted"])
    share = used / allowance
    context = {
        "used": size(used),
        "allowance": size(allowance),
        "share": "under " + percent(0.001) if 0 < share < 0.001 else percent(share),
        "fraction": min(share, 1.0),
        "plan_name": PLAN_NAMES.get(workspace.plan, workspace.plan),
    }
    return html(render("pages/settings_storage.html.j2", **context))


SETTINGS_PAGES = [settings_page, settings_storage]
