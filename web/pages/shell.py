"""The app shell of every signed-in page: who is signed in, in which workspace, its brand colour and time zone, and
the menu items the member's role may use (an item the role may not use is not shown; the page's guard still
refuses it)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio.to_thread
from litestar import Request

from commands._common import load
from commands._lazy import read_or_none
from domain.account import Account
from domain.app_settings import AppSettings, AppSettingsValues, app_settings_id
from domain.workspace import Workspace
from web.auth import Auth, Member, authenticate
from web.pages._render import use_language

SHELL_CACHE_S = 5.0  # a renamed workspace or a new brand colour shows within 5 s on every process
SHELL_CACHE_MAX = 10_000


@dataclass(frozen=True)
class NavItem:
    """A menu entry: its label, path, and the permission it needs (None: any member)."""

    key: str
    label: str
    path: str
    permission: str | None
    ready: bool = True  # False: the screen comes with part 2 of the dashboard (shown as "soon", not a link)


NAV = (
    NavItem("overview", "Overview", "/app", "analytics.read"),
    NavItem("activity", "Activity", "/app/activity", "analytics.read"),
    NavItem("monitor", "Monitor", "/app/monitor", "monitor.read"),
    NavItem("usage", "Analytics", "/app/usage", "analytics.read"),
    NavItem("topics", "Topics", "/app/topics", "analytics.read"),
    NavItem("knowledge", "Knowledge", "/app/knowledge", "knowledge.manage"),
    NavItem("prompts", "Prompts", "/app/prompts", "prompts.read"),
    NavItem("rules", "Escalation rules", "/app/rules", "prompts.read"),
    NavItem("integrations", "Integrations", "/app/integrations", "integrations.manage"),
    NavItem("models", "API & models", "/app/models", "keys.manage"),
    NavItem("team", "Team", "/app/team", "team.read"),
    NavItem("settings", "Settings", "/app/settings", "settings.manage"),
    NavItem("audit", "Audit", "/app/audit", "audit.replay"),
)


@dataclass(frozen=True)
class ShellFacts:
    """What the shell shows besides the member's role (read from the event store, kept a few seconds)."""

    name: str
    email: str
    workspace_name: str
    brand: str
    time_zone: str
    language: str
    widget_key: str
    plan: str
    trial_ends_at: str | None


@dataclass(frozen=True)
class Shell:
    """The shell of one request."""

    member: Member
    facts: ShellFacts
    active: str

    @property
    def nav(self) -> list[NavItem]:
        """The menu items the member's role may use."""
        return [item for item in NAV if item.permission is None or self.member.can(item.permission)]

    def can(self, permission: str) -> bool:
        """Whether the member may use ``permission`` (to show an action or not)."""
        return self.member.can(permission)

    @property
    def role_label(self) -> str:
        """ "Admin", "Agent", "Viewer"."""
        return self.member.role.capitalize()

    @property
    def initials(self) -> str:
        """Up to two letters of the person's name."""
        words = [w for w in self.facts.name.split() if w]
        return "".join(w[0] for w in words[:2]).upper() or "?"


_cache: dict[tuple[UUID, UUID], tuple[float, ShellFacts]] = {}


def read_facts(auth: Auth, member: Member) -> ShellFacts:
    """The account's name and email, the workspace's name, key and plan, and its app settings (blocking)."""
    account = load(auth.app, member.account_id, Account, "account", read_only=True)
    workspace = load(auth.app, member.workspace_id, Workspace, "workspace", read_only=True)
    stored = read_or_none(auth.app, app_settings_id(member.workspace_id), AppSettings)
    values = stored.values if stored else AppSettingsValues()
    return ShellFacts(
        name=account.name,
        email=account.email,
        workspace_name=workspace.name,
        brand=values.widget_theme_colour,
        time_zone=values.time_zone,
        language=values.widget_language,
        widget_key=workspace.widget_key,
        plan=workspace.plan,
        trial_ends_at=workspace.trial_ends_at.date().isoformat() if workspace.trial_ends_at else None,
    )


async def shell_of(request: Request[Any, Any, Any], active: str) -> Shell:
    """The shell of the signed-in member's page (the guards have authenticated the request)."""
    member = await authenticate(request)
    key, now = (member.workspace_id, member.account_id), time.monotonic()
    hit = _cache.get(key)
    if hit is None or now - hit[0] > SHELL_CACHE_S:
        auth: Auth = request.app.state.auth
        facts = await anyio.to_thread.run_sync(read_facts, auth, member)
        if len(_cache) >= SHELL_CACHE_MAX:
            _cache.clear()
        _cache[key] = (now, facts)
    else:
        facts = hit[1]
    use_language(facts.language)  # numbers, dates and times of this request's page in the workspace's language
    return Shell(member, facts, active)
