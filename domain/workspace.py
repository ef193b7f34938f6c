"""The Workspace aggregate: the tenant, its widget key and the settings a chat turn needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import ClockedEvent
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.permissions import ADMIN, allows, check_role

OVER_BUDGET_ACTIONS = ("refuse", "cheaper_model")
DEFAULT_PRIMARY_MODEL = "claude-sonnet-4-6"
DEFAULT_FALLBACK_MODEL = "gpt-4o-mini"
DEFAULT_BUDGET_MODEL = "claude-haiku-4-5"
SEAT_LIMIT = 20
TRIAL_DAYS = 14
DEFAULT_PLAN = "self_hosted"
PLANS = ("self_hosted", "team", "business")  # "trial" is started by sign-up only
GIB = 1024**3
STORAGE_ALLOWANCE = {"trial": 1 * GIB, "self_hosted": 10 * GIB, "team": 10 * GIB, "business": 100 * GIB}
"""Bytes of stored events each plan includes (shown as a share on the settings page; nothing is refused beyond)."""
DEFAULT_SYSTEM_PROMPT = (
    "You are the support assistant of {workspace}. Answer the customer's question clearly and briefly, "
    "using the help articles you are given. If you are not sure, say so and offer to bring in a person. "
    "Never invent prices, refunds or legal commitments."
)


@dataclass(frozen=True)
class WorkspaceSettings:
    """What a chat turn needs to know about its workspace. Validated on construction."""

    primary_model: str = DEFAULT_PRIMARY_MODEL
    fallback_model: str = DEFAULT_FALLBACK_MODEL
    max_response_tokens: int = 1024
    max_history_turns: int = 10
    monthly_token_budget: int = 100_000
    over_budget: str = "refuse"
    budget_model: str = DEFAULT_BUDGET_MODEL
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    fallback_enabled: bool = True  # False: only the primary model is tried, never the fallback
    retry_enabled: bool = True  # False: one attempt per model, no retry with backoff

    def __post_init__(self) -> None:
        check_range("max_response_tokens", self.max_response_tokens, 16, 8192)
        check_range("max_history_turns", self.max_history_turns, 0, 50)
        check_range("monthly_token_budget", self.monthly_token_budget, 0, 10**12)
        for name in ("fallback_enabled", "retry_enabled"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(f"{name} must be true or false.")
        if self.over_budget not in OVER_BUDGET_ACTIONS:
            raise InvalidInput(f"over_budget must be one of {', '.join(OVER_BUDGET_ACTIONS)}.")
        for name in ("primary_model", "fallback_model", "budget_model", "system_prompt"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"{name} must be a non-empty string.")
        if len(self.system_prompt) > 20_000:
            raise InvalidInput("system_prompt must be at most 20,000 characters.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkspaceSettings:
        """Build from stored or submitted values; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        return cls(**data)

    def with_changes(self, changes: dict[str, Any]) -> WorkspaceSettings:
        """A validated copy with ``changes`` applied."""
        merged = {**asdict(self), **changes}
        return WorkspaceSettings.from_dict(merged)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, as stored in events."""
        return asdict(self)


def check_range(name: str, value: object, low: int, high: int) -> None:
    """Raise InvalidInput unless ``value`` is an int in [low, high]."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.")


@dataclass(frozen=True)
class Snippet:
    """A help-centre article or canned answer the assistant may draw on."""

    id: str
    title: str
    text: str
    keywords: tuple[str, ...] = field(default=())


class Workspace(Aggregate):
    """A tenant. Its id scopes every conversation; its widget key is public."""

    class Event(ClockedEvent):
        """Stamped by domain/clock.py (the current time outside the seeder)."""

    if TYPE_CHECKING:  # the event classes @event("Name") makes at runtime, declared for mypy (fields as the methods')

        class Created(Aggregate.Created, Event):
            name: str
            widget_key: str
            settings: dict[str, Any]
            knowledge: list[dict[str, Any]]
            examples: list[dict[str, str]]

        class SettingsChanged(Event):
            changes: dict[str, Any]
            prompt_changed: bool

        class KnowledgeReplaced(Event):
            knowledge: list[dict[str, Any]]
            examples: list[dict[str, str]]

        class KnowledgeChanged(Event):
            articles: list[str]
            by: UUID | None

        class PlanStarted(Event):
            plan: str
            trial_ends_at: datetime | None

        class MemberAdded(Event):
            account_id: UUID
            role: str
            by: UUID

        class RoleChanged(Event):
            account_id: UUID
            role: str
            by: UUID

        class MemberRemoved(Event):
            account_id: UUID
            by: UUID

        class InviteIssued(Event):
            invite_id: str
            email_hash: str
            role: str
            by: UUID
            expires_at: datetime

        class InviteAccepted(Event):
            invite_id: str
            account_id: UUID
            by: UUID

    @event("Created")
    def __init__(
        self,
        name: str,
        widget_key: str,
        settings: dict[str, Any],
        knowledge: list[dict[str, Any]],
        examples: list[dict[str, str]],
    ) -> None:
        self.name = name
        self.widget_key = widget_key
        self.settings_data = settings
        self.knowledge = knowledge
        self.examples = examples
        self.prompt_version = 1
        # Added after the first release: set here so that old Created events load with these defaults.
        self.plan = DEFAULT_PLAN
        self.trial_ends_at: datetime | None = None
        self.members: dict[UUID, str] = {}
        self.invites: dict[str, Invite] = {}

    @property
    def settings(self) -> WorkspaceSettings:
        """The current validated settings."""
        return WorkspaceSettings.from_dict(self.settings_data)

    def snippets(self) -> list[Snippet]:
        """The knowledge base as value objects."""
        return [Snippet(k["id"], k["title"], k["text"], tuple(k.get("keywords", ()))) for k in self.knowledge]

    def change_settings(self, changes: dict[str, Any]) -> None:
        """Apply validated setting changes; a no-op change records nothing."""
        new = self.settings.with_changes(changes).to_dict()
        diff = {k: v for k, v in new.items() if self.settings_data.get(k) != v}
        if diff:
            prompt_changed = "system_prompt" in diff
            self._settings_changed(changes=diff, prompt_changed=prompt_changed)

    @event("SettingsChanged")
    def _settings_changed(self, changes: dict[str, Any], prompt_changed: bool) -> None:
        self.settings_data = {**self.settings_data, **changes}
        if prompt_changed:
            self.prompt_version += 1

    @event("KnowledgeReplaced")
    def replace_knowledge(self, knowledge: list[dict[str, Any]], examples: list[dict[str, str]]) -> None:
        """Swap the knowledge base and few-shot examples used by the assistant."""
        self.knowledge = knowledge
        self.examples = examples
        self.prompt_version += 1

    def note_knowledge_changed(self, articles: list[str], by: UUID | None) -> None:
        """Record that these help articles changed, so the next chat turn waits for the knowledge read model to have
        applied this workspace version (read-your-writes, docs/knowledge.md)."""
        self._knowledge_changed(articles=articles, by=by)

    @event("KnowledgeChanged")
    def _knowledge_changed(self, articles: list[str], by: UUID | None) -> None:
        pass

    # --- plan and team -------------------------------------------------------------------------------

    def start_trial(self, now: datetime) -> None:
        """Put the workspace on the free trial, ending TRIAL_DAYS after ``now``."""
        self._plan_started(plan="trial", trial_ends_at=now + timedelta(days=TRIAL_DAYS))

    def trial_over(self, now: datetime) -> bool:
        """True once a trial workspace's trial has ended (it then answers with the offline answerer only)."""
        return self.plan == "trial" and self.trial_ends_at is not None and now >= self.trial_ends_at

    def change_plan(self, plan: str) -> None:
        """Move the workspace to ``plan`` (the operator's decision, e.g. after the trial): no trial end any more."""
        if plan not in PLANS:
            raise InvalidInput(f"plan must be one of {', '.join(PLANS)}.", code="invalid_plan")
        if plan != self.plan or self.trial_ends_at is not None:
            self._plan_started(plan=plan, trial_ends_at=None)

    @event("PlanStarted")
    def _plan_started(self, plan: str, trial_ends_at: datetime | None) -> None:
        self.plan = plan
        self.trial_ends_at = trial_ends_at

    def role_of(self, account_id: UUID) -> str | None:
        """The member's role, or None when the account is not a member."""
        return self.members.get(account_id)

    def check_permission(self, account_id: UUID, permission: str) -> str:
        """The actor's role, or Forbidden when the actor is not a member with ``permission``."""
        role = self.members.get(account_id)
        if role is None or not allows(role, permission):
            raise Forbidden("Your role does not allow this action.", code="permission_denied")
        return role

    def check_seat_free(self) -> None:
        """Raise Conflict ``seats_full`` when every seat is taken."""
        if len(self.members) >= SEAT_LIMIT:
            raise Conflict(
                f"All {SEAT_LIMIT} seats of this workspace are taken: remove a member before adding another.",
                code="seats_full",
            )

    def add_member(self, account_id: UUID, role: str, by: UUID) -> None:
        """Add a member with a role; refused when already a member or the seats are full."""
        check_role(role)
        if account_id in self.members:
            raise Conflict("This person is already a member of the workspace.", code="already_member")
        self.check_seat_free()
        self._member_added(account_id=account_id, role=role, by=by)

    @event("MemberAdded")
    def _member_added(self, account_id: UUID, role: str, by: UUID) -> None:
        self.members[account_id] = role

    def _check_keeps_an_admin(self, account_id: UUID) -> None:
        admins = [a for a, r in self.members.items() if r == ADMIN]
        if admins == [account_id]:
            raise Conflict("This is the workspace's last admin: make another member admin first.", code="last_admin")

    def _member(self, account_id: UUID) -> str:
        role = self.members.get(account_id)
        if role is None:
            raise NotFound(f"No member with account id {account_id} in this workspace.", code="member_not_found")
        return role

    def change_role(self, account_id: UUID, role: str, by: UUID) -> None:
        """Give a member another role; the last admin cannot be demoted; the same role records nothing."""
        check_role(role)
        current = self._member(account_id)
        if current == role:
            return
        if current == ADMIN:
            self._check_keeps_an_admin(account_id)
        self._role_changed(account_id=account_id, role=role, by=by)

    @event("RoleChanged")
    def _role_changed(self, account_id: UUID, role: str, by: UUID) -> None:
        self.members[account_id] = role

    def remove_member(self, account_id: UUID, by: UUID) -> None:
        """Remove a member; the last admin cannot be removed."""
        if self._member(account_id) == ADMIN:
            self._check_keeps_an_admin(account_id)
        self._member_removed(account_id=account_id, by=by)

    @event("MemberRemoved")
    def _member_removed(self, account_id: UUID, by: UUID) -> None:
        del self.members[account_id]

    def issue_invite(self, invite_id: str, email_hash: str, role: str, by: UUID, expires_at: datetime) -> None:
        """Record an invite for one email (kept as its hash) and role, valid until ``expires_at``."""
        check_role(role)
        self.check_seat_free()
        self._invite_issued(invite_id=invite_id, email_hash=email_hash, role=role, by=by, expires_at=expires_at)

    @event("InviteIssued")
    def _invite_issued(self, invite_id: str, email_hash: str, role: str, by: UUID, expires_at: datetime) -> None:
        self.invites[invite_id] = Invite(email_hash, role, expires_at)

    def accept_invite(self, invite_id: str, email_hash: str, account_id: UUID, now: datetime) -> str:
        """Use an invite once: the account becomes a member with the invited role, which is returned."""
        invite = self.check_invite(invite_id, email_hash, now)
        if account_id in self.members:
            raise Conflict("You are already a member of this workspace.", code="already_member")
        self.check_seat_free()
        self._invite_accepted(invite_id=invite_id, account_id=account_id, by=account_id)
        self._member_added(account_id=account_id, role=invite.role, by=account_id)
        return invite.role

    def check_invite(self, invite_id: str, email_hash: str, now: datetime) -> Invite:
        """The invite if it can still be used by this email; NotFound, Conflict or Forbidden otherwise."""
        invite = self.invites.get(invite_id)
        if invite is None:
            raise NotFound("This invite does not exist.", code="invite_not_found")
        if invite.accepted:
            raise Conflict("This invite has already been used: ask an admin for a new one.", code="invite_used")
        if now >= invite.expires_at:
            raise Conflict("This invite has expired: ask an admin for a new one.", code="invite_expired")
        if email_hash != invite.email_hash:
            raise Forbidden("This invite was sent to another email address.", code="invite_email_mismatch")
        return invite

    @event("InviteAccepted")
    def _invite_accepted(self, invite_id: str, account_id: UUID, by: UUID) -> None:
        self.invites[invite_id].accepted = True


@dataclass
class Invite:
    """A pending or used invite."""

    email_hash: str
    role: str
    expires_at: datetime
    accepted: bool = False


_WIDGET_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/widget-key")


def widget_index_id(widget_key: str) -> UUID:
    """Deterministic id of the index aggregate that maps a widget key to its workspace."""
    return uuid5(_WIDGET_NS, widget_key)


class WidgetKeyIndex(Aggregate):
    """Maps a public widget key to its workspace without a read model (no projection lag)."""

    @staticmethod
    def create_id(widget_key: str, workspace_id: UUID) -> UUID:
        """Id derived from the key, so a lookup is one read by id."""
        return widget_index_id(widget_key)

    @event("Registered")
    def __init__(self, widget_key: str, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
