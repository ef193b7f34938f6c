"""API keys and models (Admins, ``keys.manage``): a card per provider (masked key, status, model, average latency,
test / replace / remove), the primary and fallback model pickers from the price table with deprecation warnings,
the monthly token budget gauge and the fallback and retry switches.

Every action posts to the JSON API (/api/settings/keys/..., PATCH /api/settings) from web/static/admin.js; this
module only reads and arranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from commands._common import load
from commands.ai.models import deprecation_of, provider_for
from commands.chat_turn.service import ChatService
from domain.pricing import PRICES
from domain.workspace import Workspace
from read_api._analytics import WorkspaceFacts, with_facts
from read_api._reads import AsyncReader, combined
from read_api.get_overview.query import Overview, plan_overview
from read_api.get_provider_latency.query import plan_provider_latency
from web.guards import GUARDS
from web.pages import charts
from web.pages._render import compact, html, render, seconds
from web.pages.shell import shell_of
from web.settings_controller import key_statuses

PROVIDER_NAMES = {"anthropic": "Anthropic Claude API", "openai": "OpenAI API"}
STATUS_LABELS = {
    "ok": ("Active", "good"),
    "failed": ("Key refused", "bad"),
    "untested": ("Not tested yet", "warn"),
    "environment": ("Server key", "neutral"),
    "none": ("No key", "neutral"),
}


@dataclass(frozen=True)
class ModelChoice:
    """A model of the price table, as the pickers offer it."""

    name: str
    provider: str
    label: str
    end_of_life: str | None


def model_choices() -> list[ModelChoice]:
    """Every priced model a provider serves (no dated aliases), newest names first per provider."""
    out = []
    for name, price in PRICES.items():
        provider = provider_for(name) or ""
        if name[-8:].isdigit():
            continue  # a dated alias of a name listed already
        eol = deprecation_of(name)
        label = f"{name} (${price.input:g} / ${price.output:g} per 1M tokens in / out)"
        out.append(ModelChoice(name, provider, label + (f" — end of life {eol}" if eol else ""), eol))
    return sorted(out, key=lambda m: (m.provider != "anthropic", m.provider, m.end_of_life is not None, m.name))


@get("/app/models", guards=[GUARDS["keys.manage"]], include_in_schema=False, name="models")
async def models(request: Request[Any, Any, Any], reader: AsyncReader, chat: ChatService) -> Response[str]:
    """API configuration and model settings."""
    shell = await shell_of(request, "models")
    ws = shell.member.workspace_id

    def plan(facts: WorkspaceFacts) -> Any:
        return combined({"overview": plan_overview(ws, facts), "latency": plan_provider_latency(ws)})

    got = await reader.drive(with_facts(ws, plan))
    keys = await anyio.to_thread.run_sync(key_statuses, chat, ws)
    workspace = await anyio.to_thread.run_sync(lambda: load(chat.app, ws, Workspace, "workspace", read_only=True))
    settings = workspace.settings  # the chat settings (GET /api/settings also counts storage: not needed here)
    ov: Overview = got["overview"]
    choices = model_choices()
    known = {c.name for c in choices}
    for current in (settings.primary_model, settings.fallback_model):
        if current not in known:  # a model set through the API that the price table does not list
            choices.append(ModelChoice(current, provider_for(current) or "", f"{current} (no price known)",
                                       deprecation_of(current)))  # fmt: skip
    cards = []
    for provider, status in keys.keys.items():
        role = "Primary" if provider_for(settings.primary_model) == provider else (
            "Fallback" if provider_for(settings.fallback_model) == provider else "Not used")  # fmt: skip
        model = settings.primary_model if role == "Primary" else settings.fallback_model if role == "Fallback" else None
        latency = got["latency"].get(provider)
        label, tone = STATUS_LABELS.get(status.status, (status.status, "neutral"))
        if role == "Fallback" and status.status in ("ok", "environment"):
            label = "Standby" if settings.fallback_enabled else "Fallback switched off"
        cards.append({
            "provider": provider, "name": PROVIDER_NAMES.get(provider, provider), "role": role, "key": status,
            "status_label": label, "tone": tone, "model": model,
            "latency": seconds(latency.avg_latency_ms) if latency and latency.avg_latency_ms is not None else None,
            "calls": latency.ok_calls if latency else 0,
        })  # fmt: skip
    budget = ov.monthly_token_budget
    used = ov.tokens_this_month.value
    context = {
        "shell": shell,
        "cards": cards,
        "keys": keys,
        "settings": settings,
        "choices": choices,
        "primary_eol": deprecation_of(settings.primary_model),
        "fallback_eol": deprecation_of(settings.fallback_model),
        "gauge": charts.gauge(ov.budget_used, "Monthly token budget used"),
        "budget_text": f"{compact(used)} of {compact(budget)} used this month"
        if budget
        else f"{compact(used)} used this month (no budget set)",
        "budget": budget,
    }
    return html(render("pages/models.html.j2", **context))
