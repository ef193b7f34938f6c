"""The audit log: one row per admin-side event (who did what, when), in the workspace it concerns.

Rows carry only non-secret facts: role names, setting names and values (texts written for the AI or the visitors are
named, not copied), provider names and the last 4 characters of a key; never a ciphertext, hash, token, another
person's email or a visitor's text. See docs/audit.md for every kind and its details.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.account import Account
from domain.app_settings import AppSettings
from domain.audit_access import AuditAccess
from domain.chain_anchor import ChainAnchor
from domain.conversation import Conversation
from domain.integrations import Integrations
from domain.knowledge import Article
from domain.prompt_config import PromptConfig
from domain.provider_keys import ProviderKeyring
from domain.widget_security import WidgetSecurity
from domain.workspace import Workspace
from projections._common import Statement, TrackedView, event_class

PREFIX = "audit_v1"
LOG, AGGREGATES, MEMBERS = (f"{PREFIX}_{t}" for t in ("log", "aggregates", "members"))
TEXT_SETTINGS = frozenset({"system_prompt", "after_hours_message"})  # named in the log, their text not copied
SYSTEM_ACTOR = UUID(int=0)  # what the CLI's key rotation names as its actor: recorded as no actor
FOUNDING_KINDS = ("workspace.created", "workspace.plan_started")


def setting_details(changes: dict[str, Any]) -> dict[str, Any]:
    """The names of the changed settings and their new values, except the values of free texts."""
    return {
        "changed": sorted(changes),
        "values": {k: v for k, v in sorted(changes.items()) if k not in TEXT_SETTINGS},
    }


class AuditView(TrackedView):
    """Tables ``audit_v1_*`` (migrations/0003) plus this projection's tracking table.

    ``prefix`` names the tables written, so a rebuild can fill a fresh set beside the live one.
    """

    prefix: ClassVar[str] = PREFIX

    def table(self, name: str) -> str:
        """The full name of one of this view's tables: log, aggregates or members."""
        return f"{self.prefix}_{name}"


class AuditProjection(Projection[AuditView]):
    """Writes the audit row of every admin-side event; keeps which workspace owns each per-workspace aggregate and
    who is a member with which role (for the previous role of a change and the workspaces of an account)."""

    name = "audit_v1"
    topics: tuple[str, ...] = tuple(
        get_topic(cls)
        for cls in (
            Workspace.Created,
            Workspace.PlanStarted,
            Workspace.SettingsChanged,
            Workspace.KnowledgeReplaced,
            Workspace.MemberAdded,
            Workspace.RoleChanged,
            Workspace.MemberRemoved,
            Workspace.InviteIssued,
            Workspace.InviteAccepted,
            Account.PasswordChanged,
            AppSettings.Created,
            AppSettings.Changed,
            AppSettings.ChatSettingsChanged,
            ProviderKeyring.Created,
            ProviderKeyring.KeySet,
            ProviderKeyring.KeyRemoved,
            ProviderKeyring.KeyTested,
            WidgetSecurity.Created,
            WidgetSecurity.AllowedOriginsChanged,
            WidgetSecurity.IdentityVerificationChanged,
            WidgetSecurity.IdentitySecretRotated,
            PromptConfig.Created,
            PromptConfig.DraftSaved,
            PromptConfig.DraftDiscarded,
            PromptConfig.DraftApproved,
            PromptConfig.DraftRejected,
            PromptConfig.VersionPublished,
            PromptConfig.RolledBack,
            Article.Created,
            Article.Edited,
            Article.Published,
            Article.Unpublished,
            Article.Deleted,
            Conversation.AgentClaimed,
            Conversation.AgentReplied,
            Conversation.NoteAdded,
            Conversation.ReturnedToAI,
            Conversation.EscalationRecalled,
            Conversation.TopicChanged,
            Conversation.Resolved,
            Conversation.Closed,
            Conversation.PersonalDataErased,
            AuditAccess.Recorded,
            event_class(ChainAnchor, "Recorded"),
            event_class(Integrations, "Created"),
            event_class(Integrations, "EndpointAdded"),
            event_class(Integrations, "EndpointChanged"),
            event_class(Integrations, "EndpointDisabled"),
            event_class(Integrations, "EndpointRemoved"),
            event_class(Integrations, "SecretRotated"),
            event_class(Integrations, "TestRequested"),
            event_class(Integrations, "SlackConnected"),
            event_class(Integrations, "SlackDisconnected"),
            event_class(Integrations, "SlackChannelChosen"),
            event_class(Integrations, "GrantRevoked"),
            event_class(Integrations, "RedeliveryRequested"),
            event_class(Integrations, "ZendeskConnected"),
            event_class(Integrations, "ZendeskDisconnected"),
            event_class(Integrations, "ZendeskInstalled"),
            event_class(Integrations, "HubSpotConnected"),
            event_class(Integrations, "HubSpotDisconnected"),
            event_class(Integrations, "HubSpotInstalled"),
            event_class(Integrations, "TokenRefreshed"),
            event_class(Integrations, "IntercomConnected"),
            event_class(Integrations, "IntercomTokenChecked"),
            event_class(Integrations, "IntercomDisconnected"),
            event_class(Integrations, "CredentialChecked"),
        )
    )

    # --- statements ---------------------------------------------------------------------------------------------

    def _row(
        self,
        tracking: Tracking,
        e: Any,
        kind: str,
        actor: UUID | None,
        details: dict[str, Any],
        owner: str = "workspace",
    ) -> Statement:
        """INSERT the audit row of ``e``. ``owner``: ``workspace`` (the event's aggregate is the workspace),
        ``aggregate`` (a per-workspace aggregate: its workspace from its Created event) or ``account`` (one row in
        each workspace the account is a member of)."""
        table = self.view.table
        workspace, source = {
            "workspace": ("%(agg)s::uuid", ""),
            "event": ("%(ws)s::uuid", ""),
            "aggregate": ("a.workspace_id", f" FROM {table('aggregates')} a WHERE a.aggregate_id = %(agg)s"),
            "account": ("m.workspace_id", f" FROM {table('members')} m WHERE m.account_id = %(agg)s"),
        }[owner]
        return (
            f"INSERT INTO {table('log')} (workspace_id, position, occurred_at, actor_id, kind, aggregate_id,"
            f" aggregate_version, details) SELECT {workspace}, %(pos)s::bigint, %(at)s::timestamptz, %(actor)s::uuid,"
            f" %(kind)s::text, %(agg)s::uuid, %(v)s::integer, %(details)s::jsonb{source}",
            {
                "pos": tracking.notification_id,
                "at": e.timestamp,
                "actor": None if actor == SYSTEM_ACTOR else actor,
                "kind": kind,
                "agg": e.originator_id,
                "v": e.originator_version,
                "details": json.dumps(details, default=str, sort_keys=True),
                "ws": getattr(e, "workspace_id", None),
            },
        )

    def _log(
        self,
        tracking: Tracking,
        e: Any,
        kind: str,
        actor: UUID | None,
        details: dict[str, Any],
        owner: str = "workspace",
    ) -> None:
        self.view.apply(tracking, [self._row(tracking, e, kind, actor, details, owner)])

    def _owned_by(self, tracking: Tracking, e: Any) -> None:
        """Remember the workspace of a per-workspace aggregate (its Created event); no audit row of its own."""
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {self.view.table('aggregates')} (aggregate_id, workspace_id)"
                    " VALUES (%(agg)s, %(ws)s) ON CONFLICT (aggregate_id) DO NOTHING",
                    {"agg": e.originator_id, "ws": e.workspace_id},
                )
            ],
        )

    def _member(self, e: Any, role: str | None) -> Statement:
        """Set (or with ``role`` None, delete) the member row of ``e.account_id`` in the event's workspace."""
        params = {"ws": e.originator_id, "acc": e.account_id, "role": role}
        if role is None:
            return (
                f"DELETE FROM {self.view.table('members')} WHERE workspace_id = %(ws)s AND account_id = %(acc)s",
                params,
            )
        return (
            f"INSERT INTO {self.view.table('members')} (workspace_id, account_id, role) VALUES (%(ws)s, %(acc)s,"
            " %(role)s) ON CONFLICT (workspace_id, account_id) DO UPDATE SET role = EXCLUDED.role",
            params,
        )

    def _previous_role(self, e: Any) -> str | None:
        rows = self.view.query(
            f"SELECT role FROM {self.view.table('members')} WHERE workspace_id = %(ws)s AND account_id = %(acc)s",
            {"ws": e.originator_id, "acc": e.account_id},
        )
        return str(rows[0]["role"]) if rows else None

    # --- handlers -----------------------------------------------------------------------------------------------

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of a subscribed topic without a handler is a bug: stop here rather than skip it."""
        raise TypeError(
            f"{self.name}: no handler for {type(domain_event).__qualname__} at position {tracking.notification_id}"
        )

    # the workspace and its team

    @process_event.register
    def _(self, e: Workspace.Created, tracking: Tracking) -> None:
        # no actor on the event: a sign-up's founding admin is filled in by their own MemberAdded (below)
        self._log(tracking, e, "workspace.created", None, {"name": e.name})

    @process_event.register
    def _(self, e: Workspace.PlanStarted, tracking: Tracking) -> None:
        self._log(tracking, e, "workspace.plan_started", None, {"plan": e.plan, "trial_ends_at": e.trial_ends_at})

    @process_event.register
    def _(self, e: Workspace.SettingsChanged, tracking: Tracking) -> None:
        self._log(tracking, e, "workspace.settings_changed", None, setting_details(e.changes))

    @process_event.register
    def _(self, e: Workspace.KnowledgeReplaced, tracking: Tracking) -> None:
        details = {"articles": len(e.knowledge), "examples": len(e.examples)}
        self._log(tracking, e, "workspace.knowledge_replaced", None, details)

    @process_event.register
    def _(self, e: Workspace.MemberAdded, tracking: Tracking) -> None:
        statements = []
        if e.account_id == e.by:
            # The first member adding themselves is the founder of a sign-up: the actor of its creation and plan.
            statements.append(
                (
                    f"UPDATE {self.view.table('log')} SET actor_id = %(by)s WHERE workspace_id = %(ws)s"
                    " AND actor_id IS NULL AND kind = ANY(%(kinds)s) AND NOT EXISTS (SELECT 1 FROM"
                    f" {self.view.table('members')} WHERE workspace_id = %(ws)s)",
                    {"by": e.by, "ws": e.originator_id, "kinds": list(FOUNDING_KINDS)},
                )
            )
        statements.append(
            self._row(tracking, e, "team.member_added", e.by, {"account_id": e.account_id, "role": e.role})
        )
        statements.append(self._member(e, e.role))
        self.view.apply(tracking, statements)

    @process_event.register
    def _(self, e: Workspace.RoleChanged, tracking: Tracking) -> None:
        details = {"account_id": e.account_id, "role": e.role, "previous_role": self._previous_role(e)}
        self.view.apply(tracking, [self._row(tracking, e, "team.role_changed", e.by, details), self._member(e, e.role)])

    @process_event.register
    def _(self, e: Workspace.MemberRemoved, tracking: Tracking) -> None:
        details = {"account_id": e.account_id, "role": self._previous_role(e)}
        self.view.apply(tracking, [self._row(tracking, e, "team.member_removed", e.by, details), self._member(e, None)])

    @process_event.register
    def _(self, e: Workspace.InviteIssued, tracking: Tracking) -> None:
        # the invitee's email is kept by the workspace only as a hash: neither is copied here
        details = {"invite_id": e.invite_id, "role": e.role, "expires_at": e.expires_at}
        self._log(tracking, e, "team.invite_issued", e.by, details)

    @process_event.register
    def _(self, e: Workspace.InviteAccepted, tracking: Tracking) -> None:
        self._log(tracking, e, "team.invite_accepted", e.by, {"invite_id": e.invite_id, "account_id": e.account_id})

    @process_event.register
    def _(self, e: Account.PasswordChanged, tracking: Tracking) -> None:
        # one row in every workspace the account is a member of; never the hash
        self._log(tracking, e, "account.password_changed", e.originator_id, {}, owner="account")

    # app settings

    @process_event.register
    def _(self, e: AppSettings.Created, tracking: Tracking) -> None:
        self._owned_by(tracking, e)

    @process_event.register
    def _(self, e: AppSettings.Changed, tracking: Tracking) -> None:
        self._log(tracking, e, "settings.changed", e.by, setting_details(e.changes), owner="aggregate")

    @process_event.register
    def _(self, e: AppSettings.ChatSettingsChanged, tracking: Tracking) -> None:
        self._log(tracking, e, "settings.chat_changed", e.by, setting_details(e.changes), owner="aggregate")

    # provider keys: the provider and the last 4 characters, never the ciphertext

    @process_event.register
    def _(self, e: ProviderKeyring.Created, tracking: Tracking) -> None:
        self._owned_by(tracking, e)

    @process_event.register
    def _(self, e: ProviderKeyring.KeySet, tracking: Tracking) -> None:
        kind = "keys.key_reencrypted" if e.by == SYSTEM_ACTOR else "keys.key_set"
        self._log(tracking, e, kind, e.by, {"provider": e.provider, "last4": e.last4}, owner="aggregate")

    @process_event.register
    def _(self, e: ProviderKeyring.KeyRemoved, tracking: Tracking) -> None:
        self._log(tracking, e, "keys.key_removed", e.by, {"provider": e.provider}, owner="aggregate")

    @process_event.register
    def _(self, e: ProviderKeyring.KeyTested, tracking: Tracking) -> None:
        self._log(tracking, e, "keys.key_tested", e.by, {"provider": e.provider, "ok": e.ok}, owner="aggregate")

    # widget security: never the identity secret (only its rotation counter)

    @process_event.register
    def _(self, e: WidgetSecurity.Created, tracking: Tracking) -> None:
        self._owned_by(tracking, e)

    @process_event.register
    def _(self, e: WidgetSecurity.AllowedOriginsChanged, tracking: Tracking) -> None:
        details = {"allowed_origins": list(e.allowed_origins)}
        self._log(tracking, e, "widget.origins_changed", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: WidgetSecurity.IdentityVerificationChanged, tracking: Tracking) -> None:
        details = {"required": e.required}
        self._log(tracking, e, "widget.identity_verification_changed", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: WidgetSecurity.IdentitySecretRotated, tracking: Tracking) -> None:
        details = {"rotation": e.counter}
        self._log(tracking, e, "widget.identity_secret_rotated", e.by, details, owner="aggregate")

    # prompt configuration: ids, versions and notes; the prompt's content is in the prompt history, not here

    @process_event.register
    def _(self, e: PromptConfig.Created, tracking: Tracking) -> None:
        self._owned_by(tracking, e)

    @process_event.register
    def _(self, e: PromptConfig.DraftSaved, tracking: Tracking) -> None:
        details = {"draft_id": e.draft_id, "based_on_version": e.based_on_version}
        self._log(tracking, e, "prompts.draft_saved", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: PromptConfig.DraftDiscarded, tracking: Tracking) -> None:
        self._log(tracking, e, "prompts.draft_discarded", e.by, {"draft_id": e.draft_id}, owner="aggregate")

    @process_event.register
    def _(self, e: PromptConfig.DraftApproved, tracking: Tracking) -> None:
        details = {"draft_id": e.draft_id, "note": e.note}
        self._log(tracking, e, "prompts.draft_approved", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: PromptConfig.DraftRejected, tracking: Tracking) -> None:
        details = {"draft_id": e.draft_id, "note": e.note}
        self._log(tracking, e, "prompts.draft_rejected", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: PromptConfig.VersionPublished, tracking: Tracking) -> None:
        details = {
            "version": e.version,
            "from_draft": e.from_draft,
            "based_on_version": e.based_on_version,
            "approved_by": e.approved_by,
            "note": e.note,
        }
        self._log(tracking, e, "prompts.version_published", e.by, details, owner="aggregate")

    @process_event.register
    def _(self, e: PromptConfig.RolledBack, tracking: Tracking) -> None:
        details = {"version": e.version, "restored_version": e.restored_version, "note": e.note}
        self._log(tracking, e, "prompts.rolled_back", e.by, details, owner="aggregate")

    # the knowledge base (Workspace.KnowledgeChanged, written beside each of these, is not logged twice)

    @process_event.register
    def _(self, e: Article.Created, tracking: Tracking) -> None:
        owned = (
            f"INSERT INTO {self.view.table('aggregates')} (aggregate_id, workspace_id) VALUES (%(agg)s, %(ws)s)"
            " ON CONFLICT (aggregate_id) DO NOTHING",
            {"agg": e.originator_id, "ws": e.workspace_id},
        )
        details = {"title": e.title, "url": e.url, "language": e.language, "published": e.published, "source": e.source}
        row = self._row(tracking, e, "knowledge.article_created", e.by, details, "aggregate")
        self.view.apply(tracking, [owned, row])

    @process_event.register
    def _(self, e: Article.Edited, tracking: Tracking) -> None:
        details = {
            "changed": sorted(e.changes),
            "title": e.changes.get("title"),
            "by_import": e.source_hash is not None,
        }
        self._log(tracking, e, "knowledge.article_edited", e.by, details, "aggregate")

    @process_event.register
    def _(self, e: Article.Published, tracking: Tracking) -> None:
        self._log(tracking, e, "knowledge.article_published", e.by, {}, "aggregate")

    @process_event.register
    def _(self, e: Article.Unpublished, tracking: Tracking) -> None:
        self._log(tracking, e, "knowledge.article_unpublished", e.by, {}, "aggregate")

    @process_event.register
    def _(self, e: Article.Deleted, tracking: Tracking) -> None:
        self._log(tracking, e, "knowledge.article_deleted", e.by, {}, "aggregate")

    # a person's actions on a conversation (issue 17): the event names the agent and, since then, the workspace

    def _person(self, tracking: Tracking, e: Any, kind: str, by: object, details: dict[str, Any]) -> None:
        """The row of an agent's action; an event stored before it carried its workspace is written nowhere
        (the replay still shows it). ``by`` is the agent's account id as text."""
        if getattr(e, "workspace_id", None) is None:
            self.view.apply(tracking, [])
            return
        self._log(tracking, e, kind, _account(by), details, owner="event")

    @process_event.register
    def _(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        self._person(tracking, e, "conversation.claimed", e.agent_id, {"previous": e.previous})

    @process_event.register
    def _(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        self._person(tracking, e, "conversation.agent_replied", e.agent_id, {"message_id": e.message_id})

    @process_event.register
    def _(self, e: Conversation.NoteAdded, tracking: Tracking) -> None:
        self._person(tracking, e, "conversation.note_added", e.agent_id, {"note_id": e.note_id})

    @process_event.register
    def _(self, e: Conversation.ReturnedToAI, tracking: Tracking) -> None:
        self._person(tracking, e, "conversation.returned_to_ai", e.agent_id, {})

    @process_event.register
    def _(self, e: Conversation.EscalationRecalled, tracking: Tracking) -> None:
        details = {"rule": e.rule, "label": e.label, "reason": e.reason}
        self._person(tracking, e, "conversation.escalation_recalled", e.agent_id, details)

    @process_event.register
    def _(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        self._person(tracking, e, "conversation.topic_changed", e.by, {"topic": e.topic, "previous": e.previous})

    @process_event.register
    def _(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        if e.by == "visitor":  # the visitor's own click: not a person of the team
            self.view.apply(tracking, [])
            return
        self._person(tracking, e, "conversation.resolved", e.by, {})

    @process_event.register
    def _(self, e: Conversation.Closed, tracking: Tracking) -> None:
        if e.by is None:  # the visitor or the idle job (``reason`` says which)
            self.view.apply(tracking, [])
            return
        self._person(tracking, e, "conversation.closed", e.by, {"reason": e.reason})

    @process_event.register
    def _(self, e: Conversation.PersonalDataErased, tracking: Tracking) -> None:
        details = {"erasure_id": e.erasure_id, "reason": e.reason}
        self._log(tracking, e, "conversation.personal_data_erased", _account(e.by), details, owner="event")

    # replays and exports (domain/audit_access.py)

    @process_event.register
    def _(self, e: AuditAccess.Recorded, tracking: Tracking) -> None:
        details = {"conversation_id": str(e.conversation_id), **e.details} if e.conversation_id else dict(e.details)
        self._log(tracking, e, "audit." + e.action.replace(".", "_"), e.by, details, owner="event")

    # the chain heads of the workspace (domain/chain_anchor.py): the digest and counts, the heads stay in the event

    @process_event.register(event_class(ChainAnchor, "Recorded"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {
            "position": e.position,
            "streams": e.streams,
            "changed": len(e.heads),
            "before_chain": len(e.before),
            "digest": e.digest,
        }
        self._log(tracking, e, "audit.chains_anchored", None, details, owner="event")

    # integrations: URLs, event types and the last four characters of a secret; never a secret or its ciphertext

    @process_event.register(event_class(Integrations, "Created"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._owned_by(tracking, e)

    @process_event.register(event_class(Integrations, "EndpointAdded"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"endpoint_id": e.endpoint_id, "url": e.url, "event_types": e.event_types, "secret_last4": e.last4}
        self._log(tracking, e, "integrations.webhook_added", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "EndpointChanged"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"endpoint_id": e.endpoint_id, "changed": sorted(e.changes), "values": e.changes}
        self._log(tracking, e, "integrations.webhook_changed", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "EndpointDisabled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"endpoint_id": e.endpoint_id, "reason": e.reason}
        self._log(tracking, e, "integrations.webhook_disabled", None, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "EndpointRemoved"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.webhook_removed", e.by, {"endpoint_id": e.endpoint_id}, owner="aggregate")

    @process_event.register(event_class(Integrations, "SecretRotated"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"endpoint_id": e.endpoint_id, "secret_last4": e.last4}
        self._log(tracking, e, "integrations.webhook_secret_rotated", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "TestRequested"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"endpoint_id": e.endpoint_id, "test_id": e.test_id}
        self._log(tracking, e, "integrations.webhook_tested", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "SlackConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"mode": e.mode, "channel": e.channel, "credential_last4": e.last4}
        self._log(tracking, e, "integrations.slack_connected", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "SlackDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.slack_disconnected", e.by, {}, owner="aggregate")

    @process_event.register(event_class(Integrations, "SlackChannelChosen"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"channel": e.channel}
        self._log(tracking, e, "integrations.slack_channel_chosen", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "GrantRevoked"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"system": e.system, "revoked": e.revoked, "detail": e.detail}
        self._log(tracking, e, "integrations.grant_revoked", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "RedeliveryRequested"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"delivery_id": e.delivery_id}
        self._log(tracking, e, "integrations.redelivery_requested", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "ZendeskConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"subdomain": e.subdomain, "email": e.email, "base_url": e.base_url, "token_last4": e.last4}
        self._log(tracking, e, "integrations.zendesk_connected", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "ZendeskInstalled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"by_oauth": True, "subdomain": e.subdomain, "base_url": e.base_url, "token_last4": e.last4}
        self._log(tracking, e, "integrations.zendesk_connected", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "ZendeskDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.zendesk_disconnected", e.by, {}, owner="aggregate")

    @process_event.register(event_class(Integrations, "HubSpotConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.hubspot_connected", e.by, {"token_last4": e.last4}, owner="aggregate")

    @process_event.register(event_class(Integrations, "HubSpotDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.hubspot_disconnected", e.by, {}, owner="aggregate")

    @process_event.register(event_class(Integrations, "HubSpotInstalled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"by_oauth": True, "portal_id": e.portal_id, "scopes": e.scopes, "token_last4": e.last4,
                   "expires_at": e.expires_at.isoformat()}  # fmt: skip
        self._log(tracking, e, "integrations.hubspot_connected", e.by, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "TokenRefreshed"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"system": e.system, "token_last4": e.last4, "expires_at": e.expires_at.isoformat()}
        self._log(tracking, e, "integrations.token_refreshed", None, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "IntercomConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.intercom_connected", e.by, {"token_last4": e.last4}, owner="aggregate")

    @process_event.register(event_class(Integrations, "IntercomTokenChecked"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"ok": e.ok, "detail": e.detail}
        self._log(tracking, e, "integrations.intercom_checked", None, details, owner="aggregate")

    @process_event.register(event_class(Integrations, "IntercomDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._log(tracking, e, "integrations.intercom_disconnected", e.by, {}, owner="aggregate")

    @process_event.register(event_class(Integrations, "CredentialChecked"))
    def _(self, e: Any, tracking: Tracking) -> None:
        details = {"system": e.system, "ok": e.ok, "detail": e.detail}
        self._log(tracking, e, "integrations.credential_checked", e.by, details, owner="aggregate")


def _account(value: object) -> UUID | None:
    """An account id written as text, or None when it is not one."""
    try:
        return UUID(str(value))
    except ValueError:
        return None
