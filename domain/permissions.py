"""Who may do what: the one permission table, enforced by the web guards and rendered in docs/roles.md."""

from __future__ import annotations

from domain.errors import InvalidInput

ADMIN, AGENT, VIEWER, AUDITOR = "admin", "agent", "viewer", "auditor"
ROLES = (ADMIN, AGENT, VIEWER, AUDITOR)

PERMISSIONS: dict[str, frozenset[str]] = {
    "chat.monitor": frozenset({ADMIN, AGENT}),
    "escalations.handle": frozenset({ADMIN, AGENT}),
    "conversations.handle": frozenset({ADMIN, AGENT}),
    "monitor.read": frozenset({ADMIN, AGENT}),
    "analytics.read": frozenset({ADMIN, AGENT, VIEWER}),
    "team.read": frozenset({ADMIN, AGENT, VIEWER}),
    "team.manage": frozenset({ADMIN}),
    "prompts.read": frozenset({ADMIN, AGENT}),
    "prompts.edit": frozenset({ADMIN}),
    "escalation.test": frozenset({ADMIN}),
    "keys.manage": frozenset({ADMIN}),
    "integrations.manage": frozenset({ADMIN}),
    "settings.read": frozenset({ADMIN, AGENT, VIEWER}),
    "settings.manage": frozenset({ADMIN}),
    "widget.manage": frozenset({ADMIN}),
    "billing.manage": frozenset({ADMIN}),
    "audit.read": frozenset({ADMIN, AUDITOR}),
    "audit.replay": frozenset({ADMIN, AUDITOR}),
    "audit.personal": frozenset({ADMIN, AUDITOR}),
    "audit.erase": frozenset({ADMIN}),
    "knowledge.manage": frozenset({ADMIN}),
}

DESCRIPTIONS: dict[str, str] = {
    "chat.monitor": "read conversations and watch live chats",
    "escalations.handle": "take over escalated chats",
    "conversations.handle": "claim chats, reply to visitors, add notes, hand back to the AI, resolve, close, set topic",
    "monitor.read": "read the agents' monitor (active chats, queue, escalations, closed) and its live stream",
    "analytics.read": "read dashboards and analytics",
    "team.read": "see the team: members, roles, last-active time",
    "team.manage": "invite members, change roles, remove members",
    "prompts.read": "read the assistant's prompt versions, drafts, history and diffs",
    "prompts.edit": "edit, version and roll back the assistant's prompt",
    "escalation.test": "try the escalation rules on sample messages (the sandbox; writes nothing)",
    "keys.manage": "add, test and remove provider API keys",
    "integrations.manage": "connect Slack, Zendesk, HubSpot and webhooks",
    "settings.read": "see workspace and widget settings, models and storage used",
    "settings.manage": "change workspace and widget settings",
    "widget.manage": "allowed widget origins, identity verification and its secret",
    "billing.manage": "plan, seats and billing",
    "audit.read": "read and export the audit log: who did what and when",
    "audit.replay": "replay any conversation from its events, rebuild what the AI was told, export conversations",
    "audit.personal": "see visitors' identities and texts (personal fields) in replays and exports",
    "audit.erase": "erase a person's personal data (an erasure request; it cannot be undone)",
    "knowledge.manage": "write, edit, publish, import and delete help articles; read the knowledge gaps",
}


def check_role(role: object) -> str:
    """The role, or InvalidInput ``invalid_role`` naming the allowed ones."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}.", code="invalid_role")
    return str(role)


def allows(role: str, permission: str) -> bool:
    """True when ``role`` has ``permission``; an unknown permission is a programming error."""
    return role in PERMISSIONS[permission]


def markdown_table() -> str:
    """The permission table as Markdown, as docs/roles.md shows it (a unit test keeps the two equal)."""
    lines = ["| permission | what it allows | " + " | ".join(ROLES) + " |", "|---|---|" + "---|" * len(ROLES)]
    for permission, roles in PERMISSIONS.items():
        marks = " | ".join("yes" if role in roles else "no" for role in ROLES)
        lines.append(f"| `{permission}` | {DESCRIPTIONS[permission]} | {marks} |")
    return "\n".join(lines)
