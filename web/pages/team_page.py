"""The Team screen: members with role, status and last activity, the counters and seats, invitations waiting; for
admins, invite by email with a role, change a role, remove a member. The actions post to the JSON API
(/api/team, web/static/app.js); this page only reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from commands._common import load
from domain.permissions import ADMIN, AGENT, AUDITOR, ROLES, VIEWER
from domain.workspace import Workspace
from web.auth import Auth
from web.guards import GUARDS
from web.pages._render import day, page
from web.pages.shell import shell_of
from web.team_controller import team_of

ACTIVE_NOW_S = 5 * 60
ACCESS = {
    ADMIN: "Full access · Prompt editing · API management",
    AGENT: "Chat monitoring · Escalation handling · No API key access",
    VIEWER: "Analytics read-only · No chat access",
    AUDITOR: "Audit log · Conversation replays and exports · Read-only",
}
LAST_ADMIN = "The only Admin: make another member Admin before changing this role or removing them."


@dataclass(frozen=True)
class Row:
    """A member as the page shows them."""

    account_id: str
    name: str
    email: str
    role: str
    access: str
    status: str
    active_now: bool
    initials: str
    last_admin: bool
    is_me: bool


@dataclass(frozen=True)
class Waiting:
    """An invitation not yet accepted (its email is kept only as a hash: the role and expiry are shown)."""

    role: str
    expires: str


def status_of(last_active: str | None, now: datetime) -> tuple[str, bool]:
    """ "Active now", "Last active: 2 hours ago", "Last active: yesterday", "Last active: Dec 3", "Never signed in"."""
    if last_active is None:
        return "Never signed in", False
    seconds = (now - datetime.fromisoformat(last_active)).total_seconds()
    if seconds < ACTIVE_NOW_S:
        return "Active now", True
    if seconds < 3600:
        return f"Last active: {int(seconds // 60)} min ago", False
    if seconds < 24 * 3600:
        hours = int(seconds // 3600)
        return f"Last active: {hours} hour{'s' if hours > 1 else ''} ago", False
    if seconds < 48 * 3600:
        return "Last active: yesterday", False
    return f"Last active: {day(datetime.fromisoformat(last_active))}", False


def _initials(name: str, email: str) -> str:
    words = [w for w in name.split() if w] or [email]
    return "".join(w[0] for w in words[:2]).upper()


def read_team(auth: Auth, workspace_id: Any, me: Any) -> dict[str, Any]:
    """Members, counters and waiting invitations (blocking: two aggregate reads and one per member)."""
    team = team_of(auth, workspace_id)
    workspace = load(auth.app, workspace_id, Workspace, "workspace", read_only=True)
    now = datetime.now(UTC)
    admins = [m for m in team.members if m.role == ADMIN]
    rows = []
    for m in sorted(team.members, key=lambda m: (ROLES.index(m.role), m.name.lower(), m.email)):
        status, active = status_of(m.last_active_at, now)
        rows.append(
            Row(m.account_id, m.name, m.email, m.role, ACCESS.get(m.role, ""), status, active,
                _initials(m.name, m.email), m.role == ADMIN and len(admins) == 1, m.account_id == str(me))
        )  # fmt: skip
    waiting = [
        Waiting(invite.role, day(invite.expires_at))
        for invite in sorted(workspace.invites.values(), key=lambda i: i.expires_at)
        if not invite.accepted and invite.expires_at > now
    ]
    counts = {role: sum(1 for m in team.members if m.role == role) for role in ROLES}
    return {"rows": rows, "waiting": waiting, "counts": counts, "total": team.seats_used, "limit": team.seat_limit}


@get("/app/team", guards=[GUARDS["team.read"]], include_in_schema=False, name="team")
async def team(request: Request[Any, Any, Any], auth: Auth) -> Response[str]:
    """The team: counters, members and invitations; admin controls for ``team.manage``."""
    shell = await shell_of(request, "team")
    data = await anyio.to_thread.run_sync(read_team, auth, shell.member.workspace_id, shell.member.account_id)
    context = {
        "shell": shell,
        "manage": shell.can("team.manage"),
        "roles": ROLES,
        "last_admin_note": LAST_ADMIN,
        **data,
    }
    return page(request, "pages/team.html.j2", "partials/team_body.html.j2", **context)


TEAM_PAGES = [team]
