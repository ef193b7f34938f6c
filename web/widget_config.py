"""GET /api/widget/config: what the widget shows, from the workspace's settings (issue 15, screen 8).

Authenticated like the other widget endpoints (the public widget key, the allowed origins); it reveals nothing a
visitor does not see in the widget anyway: the theme colour, the language and its words, the quick replies, the
"Powered by" badge, whether ratings are asked for, and whether the team is in now (with the after-hours message).
"""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

import anyio.to_thread
import msgspec
from litestar import Controller, Response, get

from commands.chat_turn.service import ChatService
from domain.app_settings import AppSettingsValues
from domain.business_hours import after_hours_message, describe, opening
from domain.workspace import Workspace
from web.widget_strings import strings_for

SCRIPT = Path(__file__).parent / "static" / "widget.js"


@functools.lru_cache(maxsize=4)
def _script(mtime_ns: int, gzipped: bool) -> bytes:
    data = SCRIPT.read_bytes()
    return gzip.compress(data, 9, mtime=0) if gzipped else data


def widget_script(accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """widget.js and its headers: gzipped (under 10 KB instead of 29) for every browser that says it takes gzip, as
    each visitor of every customer's site downloads it; read again when the file changes."""
    gzipped = "gzip" in accept_encoding.lower()
    headers = {"Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return _script(SCRIPT.stat().st_mtime_ns, gzipped), headers


class AfterHours(msgspec.Struct):
    """Whether the team is away now; ``message``: the after-hours message to show (when its switch is on)."""

    away: bool
    next_open_at: str | None
    message: str | None


class WidgetConfig(msgspec.Struct):
    """Everything the widget takes from the workspace's settings."""

    language: str
    theme_colour: str
    show_ai_badge: bool
    powered_by: str | None
    collect_csat: bool
    quick_replies: list[str]
    after_hours: AfterHours
    strings: dict[str, str]


def model_label(model: str) -> str:
    """A model id as people write it: ``claude-sonnet-4-6`` is Claude Sonnet 4.6, ``gpt-4o-mini`` GPT-4o mini."""
    name = re.sub(r"-\d{8}$", "", model)  # a dated snapshot
    if name.startswith("claude-"):
        words: list[str] = []
        version: list[str] = []
        for part in name.split("-")[1:]:
            (version if part.isdigit() else words).append(part)
        return " ".join(["Claude", *(w.capitalize() for w in words), ".".join(version)]).strip()
    if name.startswith("gpt-"):
        head, *rest = name[4:].split("-")
        return " ".join([f"GPT-{head}", *rest])
    return name


def config_of(chat: ChatService, workspace: Workspace) -> WidgetConfig:
    """The widget's configuration now (blocks: reads the settings and the workspace's own provider keys)."""
    values: AppSettingsValues = chat.app_settings(workspace.id)
    settings = chat.prepared(workspace).settings  # the model the live prompt version chose, as a turn uses it
    route = chat.providers.routes(settings.primary_model, settings.fallback_model, chat.own_providers(workspace.id))[0]
    now = chat.clock()
    found = opening(values.business_hours, values.time_zone, values.holidays, now)
    when = found.next_open_at
    message = None
    if not found.open and values.after_hours_auto_response:
        shown = describe(when, values.time_zone, now) if when is not None else None
        message = after_hours_message(values.after_hours_message, shown)
    return WidgetConfig(
        values.widget_language,
        values.widget_theme_colour,
        values.show_ai_badge,
        "ChatAssist" if route.model == "offline-retrieval" else model_label(route.model),
        values.collect_csat,
        list(values.quick_replies),
        AfterHours(not found.open, when.isoformat() if when is not None and not found.open else None, message),
        strings_for(values.widget_language),
    )


class WidgetConfigController(Controller):
    """The widget's settings, read with the public widget key."""

    path = "/api/widget"
    tags = ["widget"]

    @get("/config", operation_id="widgetConfig", summary="The widget's look, words and switches from the settings")
    async def config(self, chat: ChatService, widget_workspace: Workspace) -> Response[WidgetConfig]:
        """Theme colour, language and words, quick replies, badge, CSAT and after-hours state."""
        found = await anyio.to_thread.run_sync(config_of, chat, widget_workspace)
        # read on every page load (one small request): a changed setting shows on the visitor's next page
        return Response(found, headers={"Cache-Control": "no-cache"})
