"""THE permission matrix: every route of the app, discovered from the app itself, called as every kind of caller.

A route missing from EXPECTED fails the test, so a new endpoint cannot be forgotten. "allowed" means a 2xx answer;
"denied" means 401, 403 or 404 (another workspace's resource looks missing); anything else fails the test.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from chatassist.integrations import start_follower
from chatassist.seed import demo_filler
from commands._common import update
from commands._password_reset import LogSender
from commands._prompt_config import read_config
from commands.ai.clients import Endpoints
from commands.ai.orchestrator import RetryPolicy
from commands.chat_turn.service import ChatService, Providers
from commands.claim_conversation import cmd as claim_conversation
from commands.close_conversation import cmd as close_conversation
from commands.discard_prompt_draft import cmd as discard_prompt_draft
from commands.integrations.hubspot_oauth import CALLBACK_PATH as HUBSPOT_CALLBACK
from commands.integrations.oauth_apps import HubSpotApp, SlackApp, ZendeskApps, ZendeskClient
from commands.integrations.slack_oauth import CALLBACK_PATH as SLACK_CALLBACK
from commands.integrations.webhooks import Context
from commands.integrations.zendesk_oauth import CALLBACK_PATH as ZENDESK_CALLBACK
from commands.invite_member import cmd as invite_member
from commands.manage_articles import cmd as manage_articles
from commands.provider_keys.cipher import KeyCipher, generate_key_spec
from commands.provider_keys.vault import KeyVault
from commands.publish_prompt import cmd as publish_prompt
from commands.request_password_reset import cmd as request_password_reset
from commands.save_prompt_draft import cmd as save_prompt_draft
from commands.set_provider_key import cmd as set_provider_key
from domain.account import Account
from domain.workspace import Workspace
from tests.conftest import chat
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.receivers import FakeHubSpot, FakeIntercom, FakeSlack, FakeZendesk, vendor_urls
from tests.support.accounts import PASSWORD, Person, invite_and_join, sign_up, unique_email
from tests.support.server import ThreadedServer
from tests.support.visitors import token_of
from web.app import create_app
from web.observability import MetricsAccess

ANONYMOUS, WIDGET, VIEWER, AGENT, ADMIN, OTHER_ADMIN = "anonymous", "widget", "viewer", "agent", "admin", "other_admin"
AUDITOR = "auditor"  # read-only: replays, exports and the audit log of workspace A (issue 17)
CALLERS = (ANONYMOUS, WIDGET, VIEWER, AGENT, ADMIN, OTHER_ADMIN, AUDITOR)
EVERYONE = frozenset(CALLERS)
MEMBERS = frozenset({VIEWER, AGENT, ADMIN, OTHER_ADMIN})  # OTHER_ADMIN acts on its own workspace
SESSIONS = MEMBERS | {AUDITOR}  # any signed-in member, whatever the role
AUDITORS = frozenset({ADMIN, OTHER_ADMIN, AUDITOR})  # audit.read, each of their own workspace
REPLAY = "/api/audit/conversations/{conversation_id:uuid}"
REPLAYERS = frozenset({ADMIN, AUDITOR})  # audit.replay; OTHER_ADMIN: another workspace's conversation, a 404
CONVERSATION = "/api/conversations/{conversation_id:uuid}"
MEMBER = "/api/team/members/{account_id:uuid}"
KEY = "/api/settings/keys/{provider:str}"
MATRIX_KEYS = generate_key_spec("matrix")
OPENAI_TEST_KEY = "sk-matrix-" + "0" * 32
PROMPTS = "/api/admin/prompts"
ADMINS = frozenset({ADMIN, OTHER_ADMIN})
PROMPT_READERS = frozenset({AGENT, ADMIN, OTHER_ADMIN})
ANALYTICS = ("overview", "activity", "usage", "topics", "prompt-versions", "models")
HANDOFF = "/api/agent/conversations/{conversation_id:uuid}"
ARTICLE = "/api/knowledge/articles/{article_id:uuid}"
HANDLERS = frozenset({AGENT, ADMIN})  # conversations.handle / chat.monitor; OTHER_ADMIN: another workspace's, a 404

PAGE_CONVERSATION = "/app/conversations/{conversation_id:uuid}"
STUDIO_PAGES = ("/app/prompts", "/app/rules", "/app/prompts/diff")
STUDIO_ACTIONS = (
    *(f"/app/prompts/{a}" for a in ("check", "save", "publish", "review", "discard", "rollback", "replay")),
    "/app/rules/try",
)
INTEGRATIONS, ENDPOINT = "/api/integrations", "/api/integrations/webhooks/{endpoint_id:str}"
DELIVERY = "/api/integrations/deliveries/{delivery_id:str}"
PUBLIC_HOOK = "https://93.184.215.14/hooks"  # a public address literal: no DNS needed
MATRIX_INTERCOM_TOKEN = "matrix-intercom-token-0000"
MATRIX_INTERCOM = FakeIntercom(MATRIX_INTERCOM_TOKEN)
MATRIX_SLACK_TOKEN, MATRIX_ZENDESK_TOKEN, MATRIX_HUBSPOT_TOKEN = "xoxb-matrix-0000", "t" * 24, "pat-na1-" + "0" * 24
MATRIX_SLACK = FakeSlack(MATRIX_SLACK_TOKEN)
MATRIX_ZENDESK = FakeZendesk("a@example.com", MATRIX_ZENDESK_TOKEN)
MATRIX_HUBSPOT = FakeHubSpot(MATRIX_HUBSPOT_TOKEN)
MATRIX_FAKES = (MATRIX_INTERCOM, MATRIX_SLACK, MATRIX_ZENDESK, MATRIX_HUBSPOT)


def matrix_context(container: Container) -> Context:
    """The integration commands' context on the vendors' fakes (private URLs allowed: the Zendesk fake's base URL
    is on loopback)."""
    back = "http://matrix.test"  # the OAuth callbacks (the fakes redirect there; the matrix calls them itself)
    return Context(
        container.app,
        KeyCipher(MATRIX_KEYS),
        True,
        **vendor_urls(MATRIX_SLACK, MATRIX_HUBSPOT, MATRIX_INTERCOM),
        slack_app=SlackApp(*MATRIX_SLACK.client, back + SLACK_CALLBACK, MATRIX_SLACK.url + "/oauth/v2/authorize"),
        hubspot_app=HubSpotApp(
            *MATRIX_HUBSPOT.client, back + HUBSPOT_CALLBACK, MATRIX_HUBSPOT.url + "/oauth/authorize"
        ),
        zendesk_apps=ZendeskApps({"acme": ZendeskClient(*MATRIX_ZENDESK.client)}, back + ZENDESK_CALLBACK),
    )


# "Add to Slack" and the other OAuth installs: browser routes under /api/ (pages and redirects, not JSON)
OAUTH_BROWSER_ROUTES = tuple(
    ("GET", f"{INTEGRATIONS}/{system}/{step}") for system in ("slack", "hubspot", "zendesk")
    for step in ("install", "oauth/callback")
)  # fmt: skip


INTEGRATION_ROUTES = (
    ("GET", INTEGRATIONS),
    ("POST", INTEGRATIONS + "/webhooks"),
    ("PATCH", ENDPOINT),
    ("DELETE", ENDPOINT),
    ("POST", ENDPOINT + "/rotate-secret"),
    ("POST", ENDPOINT + "/test"),
    ("PUT", INTEGRATIONS + "/slack"),
    ("DELETE", INTEGRATIONS + "/slack"),
    ("POST", INTEGRATIONS + "/slack/test"),
    ("POST", INTEGRATIONS + "/zendesk/test"),
    ("POST", INTEGRATIONS + "/hubspot/test"),
    ("PUT", INTEGRATIONS + "/zendesk"),
    ("DELETE", INTEGRATIONS + "/zendesk"),
    ("PUT", INTEGRATIONS + "/hubspot"),
    ("DELETE", INTEGRATIONS + "/hubspot"),
    ("PUT", INTEGRATIONS + "/intercom"),
    ("POST", INTEGRATIONS + "/intercom/check"),
    ("DELETE", INTEGRATIONS + "/intercom"),
    ("GET", INTEGRATIONS + "/deliveries"),
    ("GET", DELIVERY),
    ("POST", DELIVERY + "/redeliver"),
    ("GET", INTEGRATIONS + "/slack/channels"),
    ("PUT", INTEGRATIONS + "/slack/channel"),
    *OAUTH_BROWSER_ROUTES,
)

ADMIN_PAGES = (
    "models",
    "integrations",
    "settings",
    "settings/storage",
)  # keys.manage, integrations.manage, settings.manage

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): EVERYONE,
    # the dashboard's pages (web/pages): a refusal is a redirect to sign in, or a 403/404 page
    ("GET", "/demo"): EVERYONE,
    ("GET", "/static/{file_path:path}"): EVERYONE,
    **{("GET", path): EVERYONE for path in ("/signin", "/signup", "/reset-password", "/accept-invite")},
    **{("GET", f"/app{page}"): MEMBERS for page in ("", "/activity", "/usage", "/usage/versions", "/topics")},
    ("GET", "/app/monitor"): PROMPT_READERS,  # monitor.read
    ("GET", PAGE_CONVERSATION): HANDLERS,  # chat.monitor; OTHER_ADMIN: another workspace's conversation, a 404
    ("POST", "/app/demo-data"): ADMINS,  # settings.manage
    **{("GET", path): PROMPT_READERS for path in STUDIO_PAGES},  # prompts.read: the prompt studio, rules, diff
    **{("POST", path): ADMINS for path in STUDIO_ACTIONS},  # prompts.edit / escalation.test
    ("GET", "/app/models"): ADMINS,  # keys.manage
    ("GET", "/app/integrations"): ADMINS,  # integrations.manage
    ("GET", "/app/settings"): ADMINS,  # settings.manage
    ("GET", "/app/settings/storage"): ADMINS,  # settings.manage
    ("GET", "/app/team"): MEMBERS,  # team.read
    **{("GET", f"/app/knowledge{p}"): ADMINS for p in ("", "/editor")},  # knowledge.manage
    ("POST", "/app/knowledge/preview"): ADMINS,  # knowledge.manage; writes nothing
    ("GET", "/health"): EVERYONE,
    ("GET", "/ready"): EVERYONE,
    # Prometheus metrics: only CHATASSIST_METRICS_TOKEN opens them (the matrix app has one): no role, no widget key
    ("GET", "/metrics"): frozenset(),
    ("GET", "/widget.js"): EVERYONE,
    # the widget API: the widget key is its own credential, a member token alone does not grant it
    ("POST", "/api/chat"): frozenset({WIDGET}),
    ("POST", CONVERSATION + "/csat"): frozenset({WIDGET}),
    ("POST", CONVERSATION + "/resolve"): frozenset({WIDGET}),
    ("POST", CONVERSATION + "/close"): frozenset({WIDGET}),
    # the transcript: the widget, or a member of that workspace allowed to monitor chats
    ("GET", CONVERSATION): frozenset({WIDGET, AGENT, ADMIN}),
    # the visitor's live stream (called on a closed conversation, so the stream ends)
    ("GET", CONVERSATION + "/events"): frozenset({WIDGET}),
    ("GET", "/api/widget/config"): frozenset({WIDGET}),
    # the human handoff: agents and admins of workspace A
    ("GET", HANDOFF): HANDLERS,
    **{("POST", HANDOFF + f"/{action}"): HANDLERS for action in ("claim", "reply", "notes", "return-to-ai")},
    ("POST", HANDOFF + "/resolve"): HANDLERS,
    ("POST", HANDOFF + "/close"): HANDLERS,
    ("POST", HANDOFF + "/recall-escalation"): HANDLERS,
    ("PUT", HANDOFF + "/topic"): HANDLERS,
    ("POST", "/api/auth/signup"): EVERYONE,
    ("POST", "/api/auth/login"): EVERYONE,
    ("POST", "/api/auth/refresh"): SESSIONS,
    ("POST", "/api/auth/logout"): SESSIONS,
    ("GET", "/api/auth/me"): SESSIONS,
    ("GET", "/api/team"): MEMBERS,
    ("POST", "/api/team/invites"): frozenset({ADMIN, OTHER_ADMIN}),
    ("POST", "/api/team/invites/accept"): EVERYONE,  # the invite token is the credential
    ("PATCH", MEMBER): frozenset({ADMIN}),
    ("DELETE", MEMBER): frozenset({ADMIN}),
    # settings: every member reads, admins change (each their own workspace); provider keys: admins only
    ("GET", "/api/settings"): MEMBERS,
    ("PATCH", "/api/settings"): frozenset({ADMIN, OTHER_ADMIN}),
    ("GET", "/api/settings/keys"): frozenset({ADMIN, OTHER_ADMIN}),
    ("PUT", KEY): frozenset({ADMIN, OTHER_ADMIN}),
    ("DELETE", KEY): frozenset({ADMIN, OTHER_ADMIN}),
    ("POST", KEY + "/test"): frozenset({ADMIN, OTHER_ADMIN}),
    # widget security: admins, each of their own workspace
    ("GET", "/api/widget/security"): frozenset({ADMIN, OTHER_ADMIN}),
    ("PATCH", "/api/widget/security"): frozenset({ADMIN, OTHER_ADMIN}),
    ("POST", "/api/widget/security/rotate-secret"): frozenset({ADMIN, OTHER_ADMIN}),
    # password reset: anyone may ask (always 202); the reset token is the credential
    ("POST", "/api/auth/password-reset"): EVERYONE,
    ("POST", "/api/auth/password-reset/confirm"): EVERYONE,
    # prompt configuration: admins and agents read (prompts.read), admins write (prompts.edit), each their own
    ("GET", PROMPTS): PROMPT_READERS,
    ("GET", PROMPTS + "/history"): PROMPT_READERS,
    ("GET", PROMPTS + "/versions/{version:int}"): PROMPT_READERS,
    ("GET", PROMPTS + "/diff"): PROMPT_READERS,
    ("POST", PROMPTS + "/drafts"): ADMINS,
    ("PUT", PROMPTS + "/drafts/{draft_id:str}"): ADMINS,
    ("DELETE", PROMPTS + "/drafts/{draft_id:str}"): ADMINS,
    ("POST", PROMPTS + "/drafts/{draft_id:str}/publish"): ADMINS,
    ("POST", PROMPTS + "/rollback"): ADMINS,
    ("POST", PROMPTS + "/drafts/{draft_id:str}/approve"): ADMINS,
    ("POST", PROMPTS + "/drafts/{draft_id:str}/reject"): ADMINS,
    ("POST", PROMPTS + "/sandbox"): ADMINS,
    ("POST", PROMPTS + "/replay"): ADMINS,
    # the escalation sandbox: admins (escalation.test), writes nothing
    ("POST", "/api/admin/escalation/decide"): ADMINS,
    # analytics (analytics.read): every role, each of its own workspace (isolation: tests/e2e/test_analytics.py)
    **{("GET", f"/api/analytics/{name}"): MEMBERS for name in ANALYTICS},
    # the audit log (audit.read): admins and auditors, each of their own workspace (tests/e2e/test_audit_log.py)
    ("GET", "/api/audit"): AUDITORS,
    ("GET", "/api/audit/export"): AUDITORS,
    # audit replay (audit.replay): admins and auditors of workspace A (tests/e2e/test_audit_replay.py)
    ("GET", REPLAY + "/events"): REPLAYERS,
    ("GET", REPLAY + "/state"): REPLAYERS,
    ("GET", REPLAY + "/model-calls/{call_id:str}/request"): REPLAYERS,
    ("GET", REPLAY + "/export"): REPLAYERS,
    # erasure (audit.erase): admins of workspace A; OTHER_ADMIN does not find A's visitor, a 404
    # (tests/e2e/test_audit_erasure.py)
    ("POST", "/api/audit/erasures"): frozenset({ADMIN}),
    ("GET", "/api/audit/conversations/export"): AUDITORS,  # a date range of the caller's own workspace
    ("GET", "/app/audit"): AUDITORS,  # the replay page (audit.replay): each of their own workspace
    ("GET", "/app/audit/conversations/{conversation_id:uuid}"): REPLAYERS,
    # the monitor (monitor.read): agents and admins, each of their own workspace (tests/e2e/test_monitor.py)
    ("GET", "/api/monitor"): PROMPT_READERS,
    ("GET", "/api/monitor/live"): PROMPT_READERS,
    ("GET", "/api/analytics/live"): MEMBERS,
    # the knowledge base (knowledge.manage): admins, each of their own workspace (tests/e2e/test_knowledge.py)
    ("GET", "/api/knowledge/articles"): ADMINS,
    ("POST", "/api/knowledge/articles"): ADMINS,
    ("GET", ARTICLE): ADMINS,
    ("PATCH", ARTICLE): ADMINS,
    ("DELETE", ARTICLE): ADMINS,
    ("POST", ARTICLE + "/publish"): ADMINS,
    ("POST", ARTICLE + "/unpublish"): ADMINS,
    ("GET", "/api/knowledge/gaps"): ADMINS,
    ("POST", "/api/knowledge/import/files"): ADMINS,
    ("POST", "/api/knowledge/import/crawl"): ADMINS,
    # integrations (integrations.manage): admins, each of their own workspace
    **{route: ADMINS for route in INTEGRATION_ROUTES},
}


def discovered_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, except OPTIONS/HEAD and the /schema docs."""
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith("/schema"):
            continue
        for method in route.methods:
            if method not in ("OPTIONS", "HEAD"):
                found.add((method, route.path))
    return found


@dataclass
class World:
    """Workspace A with a viewer, an agent and an admin; workspace B with its admin; the widget key of A."""

    container: Container
    client: httpx.Client
    widget_key: str
    admin: Person
    agent: Person
    viewer: Person
    other_admin: Person
    auditor: Person

    def headers(self, caller: str) -> dict[str, str]:
        """Fresh credentials of a caller (a fresh token, so a logout in one call does not affect the next)."""
        if caller == ANONYMOUS:
            return {}
        if caller == WIDGET:
            return {"X-Widget-Key": self.widget_key}
        return {"Authorization": f"Bearer {self.session(caller).access_token}"}

    def session(self, caller: str) -> Any:
        """A freshly issued session for a member caller."""
        member: Person = getattr(self, caller)
        assert self.container.auth is not None
        return self.container.auth.issue(uuid.UUID(member.account_id), uuid.UUID(member.workspace_id), member.role)

    def conversation(self) -> str:
        """A new conversation of workspace A, projected."""
        events = chat(self.client, self.widget_key, "How do I reset my password?")
        self.container.wait_for_projections()
        return str(events[0][1]["conversation_id"])

    def escalated(self) -> str:
        """A new conversation of workspace A escalated by a rule (a legal threat), projected."""
        events = chat(self.client, self.widget_key, "My lawyer will file a lawsuit against you.")
        self.container.wait_for_projections()
        return str(events[0][1]["conversation_id"])

    def claimed(self, caller: str) -> str:
        """A new conversation of workspace A claimed by the caller's account (by A's admin for non-members), so only
        the credential decides whether the caller may reply or return it."""
        conversation_id = self.conversation()
        member: Person = getattr(self, caller) if caller in MEMBERS else self.admin
        command = claim_conversation.ClaimConversation(
            uuid.UUID(self.admin.workspace_id), uuid.UUID(conversation_id), member.account_id
        )
        claim_conversation.execute(self.container.app, command)
        return conversation_id

    def model_call_request(self) -> str:
        """The request-rebuild path of the first model call of a new conversation of workspace A."""
        conversation_id = self.conversation()
        events = self.container.app.events.get(uuid.UUID(conversation_id))
        call = next(e for e in events if type(e).__name__ == "ModelCallMade")
        return f"/api/audit/conversations/{conversation_id}/model-calls/{call.call_id}/request"

    def closed(self) -> str:
        """A new conversation of workspace A, closed."""
        conversation_id = self.conversation()
        command = close_conversation.CloseConversation(uuid.UUID(conversation_id), "visitor_closed")
        close_conversation.execute(self.container.app, command)
        return conversation_id

    def spare_member(self) -> str:
        """A new viewer of workspace A (an account no one signs in with), for removal."""
        account = Account({"email": unique_email("spare"), "name": "Spare"}, "no-password")
        self.container.app.save(account)
        account_id = account.id
        by = uuid.UUID(self.admin.account_id)
        update(
            self.container.app,
            uuid.UUID(self.admin.workspace_id),
            Workspace,
            "workspace",
            lambda ws: ws.add_member(account_id, "viewer", by),
        )
        return str(account_id)

    def store_key(self, caller: str) -> None:
        """An OpenAI key in the caller's workspace, stored directly."""
        member: Person = self.other_admin if caller == OTHER_ADMIN else self.admin
        command = set_provider_key.SetProviderKey(
            uuid.UUID(member.workspace_id), uuid.UUID(member.account_id), "openai", OPENAI_TEST_KEY
        )
        set_provider_key.execute(KeyVault(self.container.app, KeyCipher(MATRIX_KEYS)), command)

    def integrations(self, caller: str) -> tuple[Any, uuid.UUID, uuid.UUID]:
        """The integration commands' context and the caller's workspace and account (workspace A's admin for
        non-members)."""
        member: Person = self.other_admin if caller == OTHER_ADMIN else self.admin
        ctx = matrix_context(self.container)
        return ctx, uuid.UUID(member.workspace_id), uuid.UUID(member.account_id)

    def endpoint(self, caller: str, fresh: bool = False) -> str:
        """A webhook endpoint in the caller's workspace: one kept per workspace, or a new one (``fresh``)."""
        from commands.integrations import webhooks as wh

        ctx, workspace_id, by = self.integrations(caller)
        kept: dict[uuid.UUID, str] = self.__dict__.setdefault("_endpoints", {})
        if fresh or workspace_id not in kept:
            made = wh.add_endpoint(ctx, wh.AddEndpoint(workspace_id, by, PUBLIC_HOOK, ["message.created"]))
            if fresh:
                return made.endpoint.endpoint_id
            kept[workspace_id] = made.endpoint.endpoint_id
        return kept[workspace_id]

    def slack(self, caller: str) -> None:
        """Slack connected in the caller's workspace."""
        from commands.integrations import slack as slack_cmd

        ctx, workspace_id, by = self.integrations(caller)
        MATRIX_SLACK.revoked_tokens.clear()  # a Disconnect revoked it at Slack: this stands for a new token
        slack_cmd.connect(ctx, slack_cmd.ConnectSlack(workspace_id, by, "bot", MATRIX_SLACK_TOKEN, "#matrix"))

    def zendesk(self, caller: str) -> None:
        """Zendesk connected in the caller's workspace (on the fake)."""
        from commands.integrations import zendesk as zendesk_cmd

        ctx, workspace_id, by = self.integrations(caller)
        cmd = zendesk_cmd.ConnectZendesk(
            workspace_id, by, "matrix", "a@example.com", MATRIX_ZENDESK_TOKEN, base_url=MATRIX_ZENDESK.url
        )
        zendesk_cmd.connect(ctx, cmd)

    def dead_delivery(self, caller: str) -> str:
        """A delivery of the caller's workspace that has died (a test event, its row then marked dead: no worker
        runs here)."""
        import psycopg

        from commands.integrations import webhooks as wh
        from web.integrations_controller import test_delivery_id

        ctx, workspace_id, by = self.integrations(caller)
        endpoint_id = self.endpoint(caller)
        delivery_id = test_delivery_id(wh.send_test(ctx, workspace_id, by, endpoint_id), endpoint_id)
        self.container.wait_for_projections()
        with psycopg.connect(self.container.database_url, autocommit=True) as conn:
            for _ in range(200):
                if conn.execute(
                    "UPDATE integration_v1_deliveries SET status = 'dead' WHERE id = %s", (delivery_id,)
                ).rowcount:
                    return delivery_id
                time.sleep(0.05)
        raise AssertionError("the test delivery was not written")

    def invite_token(self) -> str:
        """A fresh invite to workspace A."""
        assert self.container.auth is not None
        command = invite_member.InviteMember(
            uuid.UUID(self.admin.workspace_id), uuid.UUID(self.admin.account_id), unique_email("matrix"), "viewer"
        )
        return invite_member.execute(self.container.app, command, self.container.auth.signer).token

    def prompt_draft(self, caller: str, publish: bool = False, *, by_another_admin: bool = False) -> str:
        """A new prompt draft in the caller's workspace (workspace A for non-members), optionally published; by a
        second admin of that workspace when the caller is to review it."""
        member: Person = self.other_admin if caller == OTHER_ADMIN else self.admin
        workspace_id, by = uuid.UUID(member.workspace_id), uuid.UUID(member.account_id)
        for left in list(read_config(self.container.app, workspace_id).drafts):  # refused calls leave drafts
            discard_prompt_draft.execute(
                self.container.app, discard_prompt_draft.DiscardPromptDraft(workspace_id, by, left)
            )
        if by_another_admin:
            by = self.second_admin(workspace_id, by)
        made = save_prompt_draft.execute(
            self.container.app, save_prompt_draft.SavePromptDraft(workspace_id, by, {"system_prompt": "Matrix."})
        )
        if publish:
            publish_prompt.execute(self.container.app, publish_prompt.PublishPrompt(workspace_id, by, made.draft_id))
        return made.draft_id

    def second_admin(self, workspace_id: uuid.UUID, by: uuid.UUID) -> uuid.UUID:
        """Another admin of the workspace (an account no one signs in with), made once."""
        cache: dict[uuid.UUID, uuid.UUID] = self.__dict__.setdefault("_second_admins", {})
        if workspace_id not in cache:
            account = Account({"email": unique_email("second-admin"), "name": "Second Admin"}, "no-password")
            self.container.app.save(account)
            account_id = account.id
            update(
                self.container.app,
                workspace_id,
                Workspace,
                "workspace",
                lambda ws: ws.add_member(account_id, "admin", by),
            )
            cache[workspace_id] = account_id
        return cache[workspace_id]

    def article(self, caller: str, published: bool = True) -> str:
        """A new help article in the caller's workspace (workspace A for non-members), projected."""
        member: Person = self.other_admin if caller == OTHER_ADMIN else self.admin
        command = manage_articles.CreateArticle(
            uuid.UUID(member.workspace_id), uuid.UUID(member.account_id), "Matrix", "Matrix body.", published=published
        )
        article = manage_articles.create(self.container.app, command)
        self.container.wait_for_projections()
        return str(article.id)

    def reset_token(self) -> str:
        """A fresh password-reset token of a new account."""
        assert self.container.auth is not None
        person, _ = sign_up(self.client, workspace="Matrix reset")
        command = request_password_reset.RequestPasswordReset(person.email, "http://127.0.0.1")
        issued = request_password_reset.execute(
            self.container.app, command, self.container.auth.signer, LogSender(production=True)
        )
        assert issued is not None
        return issued.token


Request = Callable[[World, str], httpx.Response]


def requests() -> dict[tuple[str, str], Request]:
    """How to call each route as a caller; bodies and path ids are valid, so only the credential decides."""

    def call(method: str, path: Callable[[World], str], body: Callable[[World, str], Any] | None = None) -> Request:
        def run(world: World, caller: str) -> httpx.Response:
            url = path(world)
            headers = {"Accept": "application/json", **world.headers(caller)}
            conversation = re.match(r"/api/conversations/([0-9a-f-]{36})", url)
            if caller == WIDGET and conversation:  # the widget holds its conversation's visitor token (issue 23.3)
                headers["X-Visitor-Token"] = token_of(conversation.group(1))
            json = body(world, caller) if body else None
            return world.client.request(method, url, json=json, headers=headers)

        return run

    def keyed(method: str, path: str) -> Request:
        """Call after storing an OpenAI key in the caller's workspace (workspace A for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            world.store_key(caller)
            return call(method, lambda w: path)(world, caller)

        return run

    def drafted(method: str, suffix: str, body: Any = None, *, by_another_admin: bool = False) -> Request:
        """Call on a fresh draft of the caller's workspace (workspace A for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            draft_id = world.prompt_draft(caller, by_another_admin=by_another_admin)
            return call(method, lambda w: f"{PROMPTS}/drafts/{draft_id}{suffix}", lambda w, c: body)(world, caller)

        return run

    def claimed(suffix: str, body: Any = None) -> Request:
        """Call on a fresh conversation the caller has claimed (A's admin for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            conversation_id = world.claimed(caller)
            path = f"/api/agent/conversations/{conversation_id}{suffix}"
            return call("POST", lambda w: path, lambda w, c: body)(world, caller)

        return run

    def streamed(path: str) -> Request:
        """Open a server-sent event stream and close it once the status is known (it never ends by itself)."""

        def run(world: World, caller: str) -> httpx.Response:
            headers = {"Accept": "text/event-stream", **world.headers(caller)}
            with world.client.stream("GET", path, headers=headers) as response:
                if not 200 <= response.status_code < 300:
                    response.read()  # a refusal is a whole JSON body
                return response

        return run

    def with_endpoint(method: str, suffix: str, body: Any = None, fresh: bool = False) -> Request:
        """Call on a webhook endpoint of the caller's workspace (workspace A for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            endpoint_id = world.endpoint(caller, fresh)
            path = f"{INTEGRATIONS}/webhooks/{endpoint_id}{suffix}"
            return call(method, lambda w: path, lambda w, c: body)(world, caller)

        return run

    def with_delivery(method: str, suffix: str) -> Request:
        """Call on a dead delivery of the caller's workspace (workspace A for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            path = f"{INTEGRATIONS}/deliveries/{world.dead_delivery(caller)}{suffix}"
            return call(method, lambda w: path)(world, caller)

        return run

    def zendesk_connected(world: World, caller: str) -> httpx.Response:
        world.zendesk(caller)
        return call("DELETE", lambda w: INTEGRATIONS + "/zendesk")(world, caller)

    def hubspot_connected(world: World, caller: str) -> httpx.Response:
        from commands.integrations import hubspot as hubspot_cmd

        ctx, workspace_id, by = world.integrations(caller)
        hubspot_cmd.connect(ctx, workspace_id, by, MATRIX_HUBSPOT_TOKEN)
        return call("DELETE", lambda w: INTEGRATIONS + "/hubspot")(world, caller)

    def intercom_connected(method: str, suffix: str) -> Request:
        def run(world: World, caller: str) -> httpx.Response:
            from commands.integrations import intercom as intercom_cmd

            ctx, workspace_id, by = world.integrations(caller)
            intercom_cmd.connect(ctx, workspace_id, by, MATRIX_INTERCOM_TOKEN)
            return call(method, lambda w: INTEGRATIONS + "/intercom" + suffix)(world, caller)

        return run

    def slack_bot(method: str, suffix: str, body: Any = None) -> Request:
        def run(world: World, caller: str) -> httpx.Response:
            world.slack(caller)
            return call(method, lambda w: INTEGRATIONS + "/slack" + suffix, lambda w, c: body)(world, caller)

        return run

    def oauth_started(system: str) -> Request:
        """The install route: a 303 to the provider's consent page counts as allowed (a 200 stands for it)."""

        def run(world: World, caller: str) -> httpx.Response:
            query = f"?subdomain=acme&base_url={MATRIX_ZENDESK.url}" if system == "zendesk" else ""
            answer = world.client.get(f"{INTEGRATIONS}/{system}/install{query}", headers=world.headers(caller))
            provider = {"slack": MATRIX_SLACK, "hubspot": MATRIX_HUBSPOT, "zendesk": MATRIX_ZENDESK}[system].url
            if answer.status_code == 303 and answer.headers["location"].startswith(provider):
                return httpx.Response(200, headers={"location": answer.headers["location"]})
            return answer

        return run

    def oauth_returned(system: str) -> Request:
        """The callback with what the provider sends back to the caller's own install (a forged state when the
        caller may not start one); a 303 to Integrations counts as allowed."""

        def run(world: World, caller: str) -> httpx.Response:
            started = oauth_started(system)(world, caller)
            query = "state=forged&code=x"
            if started.status_code == 200:
                query = httpx.get(started.headers["location"]).headers["location"].split("?", 1)[1]
            answer = world.client.get(f"{INTEGRATIONS}/{system}/oauth/callback?{query}", headers=world.headers(caller))
            if answer.status_code == 303 and answer.headers["location"].startswith("/app/integrations?"):
                return httpx.Response(200)
            return answer

        return run

    def oauth_request(path: str) -> Request:
        system = path.split("/")[3]
        return oauth_started(system) if path.endswith("install") else oauth_returned(system)

    def slack_connected(world: World, caller: str) -> httpx.Response:
        world.slack(caller)
        return call("DELETE", lambda w: INTEGRATIONS + "/slack")(world, caller)

    def credential_tested(system: str) -> Request:
        def run(world: World, caller: str) -> httpx.Response:
            from commands.integrations import hubspot as hubspot_cmd

            ctx, workspace_id, by = world.integrations(caller)
            if system == "slack":
                world.slack(caller)
            elif system == "zendesk":
                world.zendesk(caller)
            else:
                hubspot_cmd.connect(ctx, workspace_id, by, MATRIX_HUBSPOT_TOKEN)
            return call("POST", lambda w: f"{INTEGRATIONS}/{system}/test")(world, caller)

        return run

    def rolled_back(world: World, caller: str) -> httpx.Response:
        """Roll back to version 1 after publishing a version, so version 1 is not the live one."""
        world.prompt_draft(caller, publish=True)
        return call("POST", lambda w: PROMPTS + "/rollback", lambda w, c: {"to_version": 1})(world, caller)

    def refresh(world: World, caller: str) -> Any:
        return {"refresh_token": world.session(caller).refresh_token} if caller in SESSIONS else None

    def page(method: str, path: Callable[[World], str]) -> Request:
        """A dashboard page as a browser asks for it (htmx's header for the demo-data button's POST)."""

        def run(world: World, caller: str) -> httpx.Response:
            headers = {"Accept": "text/html", "HX-Request": "true" if method == "POST" else "", **world.headers(caller)}
            return world.client.request(method, path(world), headers={k: v for k, v in headers.items() if v})

        return run

    def uploaded(world: World, caller: str) -> httpx.Response:
        """Upload one Markdown file (multipart)."""
        headers = {"Accept": "application/json", **world.headers(caller)}
        files = [("data", ("matrix.md", b"# Matrix\n\nMatrix body."))]
        return world.client.post("/api/knowledge/import/files", files=files, headers=headers)

    def crawled(world: World, caller: str) -> httpx.Response:
        """Crawl a local address nothing listens on, with private addresses allowed (the report names the failure)."""
        app = world.container.app
        app.knowledge_allow_private = True
        try:
            body = {"url": "http://127.0.0.1:9/docs", "max_pages": 1}
            return call("POST", lambda w: "/api/knowledge/import/crawl", lambda w, c: body)(world, caller)
        finally:
            app.knowledge_allow_private = False

    def with_article(method: str, suffix: str = "", body: Any = None, published: bool = True) -> Request:
        """Call on a fresh article of the caller's workspace (workspace A for non-members)."""

        def run(world: World, caller: str) -> httpx.Response:
            article_id = world.article(caller, published)
            path = f"/api/knowledge/articles/{article_id}{suffix}"
            return call(method, lambda w: path, lambda w, c: body)(world, caller)

        return run

    return {
        ("GET", "/api/knowledge/articles"): call("GET", lambda w: "/api/knowledge/articles"),
        ("POST", "/api/knowledge/articles"): call(
            "POST", lambda w: "/api/knowledge/articles", lambda w, c: {"title": "Matrix", "body": "Matrix body."}
        ),
        ("GET", ARTICLE): with_article("GET"),
        ("PATCH", ARTICLE): with_article("PATCH", "", {"title": "Matrix edited"}),
        ("DELETE", ARTICLE): with_article("DELETE"),
        ("POST", ARTICLE + "/publish"): with_article("POST", "/publish", None, published=False),
        ("POST", ARTICLE + "/unpublish"): with_article("POST", "/unpublish"),
        ("GET", "/api/knowledge/gaps"): call("GET", lambda w: "/api/knowledge/gaps"),
        ("POST", "/api/knowledge/import/files"): uploaded,
        ("POST", "/api/knowledge/import/crawl"): crawled,
        ("GET", "/"): call("GET", lambda w: "/"),
        ("GET", "/demo"): page("GET", lambda w: "/demo"),
        ("GET", "/static/{file_path:path}"): page("GET", lambda w: "/static/app.css"),
        **{("GET", p): page("GET", lambda w, p=p: p) for p in ("/signin", "/signup", "/reset-password")},
        ("GET", "/accept-invite"): page("GET", lambda w: "/accept-invite?token=abc"),
        **{("GET", f"/app{p}"): page("GET", lambda w, p=p: f"/app{p}") for p in ("", "/activity", "/usage", "/topics")},
        ("GET", "/app/usage/versions"): page("GET", lambda w: "/app/usage/versions"),
        ("GET", "/app/monitor"): page("GET", lambda w: "/app/monitor"),
        ("GET", PAGE_CONVERSATION): page("GET", lambda w: f"/app/conversations/{w.conversation()}"),
        ("POST", "/app/demo-data"): page("POST", lambda w: "/app/demo-data"),
        **{("GET", p): page("GET", lambda w, p=p: p) for p in STUDIO_PAGES},
        **{("POST", p): page("POST", lambda w, p=p: p) for p in STUDIO_ACTIONS},  # no form: a refusal fragment
        **{("GET", f"/app/{p}"): page("GET", lambda w, p=p: f"/app/{p}") for p in ADMIN_PAGES},
        ("GET", "/app/team"): page("GET", lambda w: "/app/team"),
        **{("GET", f"/app/knowledge{p}"): page("GET", lambda w, p=p: f"/app/knowledge{p}") for p in ("", "/editor")},
        ("POST", "/app/knowledge/preview"): page("POST", lambda w: "/app/knowledge/preview"),
        ("GET", "/health"): call("GET", lambda w: "/health"),
        ("GET", "/ready"): call("GET", lambda w: "/ready"),
        ("GET", "/metrics"): call("GET", lambda w: "/metrics"),
        ("GET", "/widget.js"): call("GET", lambda w: "/widget.js"),
        ("GET", "/api/widget/config"): call("GET", lambda w: "/api/widget/config"),
        ("POST", "/api/chat"): call("POST", lambda w: "/api/chat", lambda w, c: {"message": "hi", "user": {"id": "v"}}),
        ("POST", CONVERSATION + "/csat"): call(
            "POST", lambda w: f"/api/conversations/{w.conversation()}/csat", lambda w, c: {"score": 5}
        ),
        ("POST", CONVERSATION + "/resolve"): call("POST", lambda w: f"/api/conversations/{w.conversation()}/resolve"),
        ("POST", CONVERSATION + "/close"): call("POST", lambda w: f"/api/conversations/{w.conversation()}/close"),
        ("GET", CONVERSATION): call("GET", lambda w: f"/api/conversations/{w.conversation()}"),
        ("GET", CONVERSATION + "/events"): call("GET", lambda w: f"/api/conversations/{w.closed()}/events"),
        ("GET", HANDOFF): call("GET", lambda w: f"/api/agent/conversations/{w.conversation()}"),
        ("POST", HANDOFF + "/claim"): call("POST", lambda w: f"/api/agent/conversations/{w.conversation()}/claim"),
        ("POST", HANDOFF + "/reply"): claimed("/reply", {"text": "Hello, a person here."}),
        ("POST", HANDOFF + "/return-to-ai"): claimed("/return-to-ai"),
        ("POST", HANDOFF + "/notes"): call(
            "POST", lambda w: f"/api/agent/conversations/{w.conversation()}/notes", lambda w, c: {"text": "note"}
        ),
        ("POST", HANDOFF + "/resolve"): call("POST", lambda w: f"/api/agent/conversations/{w.conversation()}/resolve"),
        ("POST", HANDOFF + "/close"): call("POST", lambda w: f"/api/agent/conversations/{w.conversation()}/close"),
        ("POST", HANDOFF + "/recall-escalation"): call(
            "POST",
            lambda w: f"/api/agent/conversations/{w.escalated()}/recall-escalation",
            lambda w, c: {"reason": "not a legal matter"},
        ),
        ("PUT", HANDOFF + "/topic"): call(
            "PUT", lambda w: f"/api/agent/conversations/{w.conversation()}/topic", lambda w, c: {"topic": "Billing"}
        ),
        ("POST", "/api/auth/signup"): call(
            "POST",
            lambda w: "/api/auth/signup",
            lambda w, c: {"email": unique_email(), "password": PASSWORD, "name": "N", "workspace_name": "W"},
        ),
        ("POST", "/api/auth/login"): call(
            "POST", lambda w: "/api/auth/login", lambda w, c: {"email": w.viewer.email, "password": PASSWORD}
        ),
        ("POST", "/api/auth/refresh"): call("POST", lambda w: "/api/auth/refresh", refresh),
        ("POST", "/api/auth/logout"): call("POST", lambda w: "/api/auth/logout"),
        ("GET", "/api/auth/me"): call("GET", lambda w: "/api/auth/me"),
        ("GET", "/api/team"): call("GET", lambda w: "/api/team"),
        ("POST", "/api/team/invites"): call(
            "POST", lambda w: "/api/team/invites", lambda w, c: {"email": unique_email(), "role": "viewer"}
        ),
        ("POST", "/api/team/invites/accept"): call(
            "POST",
            lambda w: "/api/team/invites/accept",
            lambda w, c: {"token": w.invite_token(), "password": PASSWORD, "name": "New Person"},
        ),
        ("PATCH", MEMBER): call(
            "PATCH", lambda w: f"/api/team/members/{w.viewer.account_id}", lambda w, c: {"role": "viewer"}
        ),
        ("DELETE", MEMBER): call("DELETE", lambda w: f"/api/team/members/{w.spare_member()}"),
        ("GET", "/api/settings"): call("GET", lambda w: "/api/settings"),
        ("PATCH", "/api/settings"): call("PATCH", lambda w: "/api/settings", lambda w, c: {"widget_language": "en"}),
        ("GET", "/api/settings/keys"): call("GET", lambda w: "/api/settings/keys"),
        ("PUT", KEY): call("PUT", lambda w: "/api/settings/keys/openai", lambda w, c: {"api_key": OPENAI_TEST_KEY}),
        ("DELETE", KEY): keyed("DELETE", "/api/settings/keys/openai"),
        ("POST", KEY + "/test"): keyed("POST", "/api/settings/keys/openai/test"),
        ("GET", "/api/widget/security"): call("GET", lambda w: "/api/widget/security"),
        ("PATCH", "/api/widget/security"): call(
            "PATCH", lambda w: "/api/widget/security", lambda w, c: {"require_identity_verification": False}
        ),
        ("POST", "/api/widget/security/rotate-secret"): call("POST", lambda w: "/api/widget/security/rotate-secret"),
        ("POST", "/api/auth/password-reset"): call(
            "POST", lambda w: "/api/auth/password-reset", lambda w, c: {"email": unique_email("reset")}
        ),
        **{
            ("GET", f"/api/analytics/{name}"): call("GET", lambda w, name=name: f"/api/analytics/{name}")
            for name in ANALYTICS
        },
        ("GET", "/api/audit"): call("GET", lambda w: "/api/audit"),
        ("GET", "/api/monitor"): call("GET", lambda w: "/api/monitor?view=queue"),
        ("GET", "/api/monitor/live"): streamed("/api/monitor/live"),
        ("GET", "/api/analytics/live"): streamed("/api/analytics/live"),
        ("GET", "/api/audit/export"): call("GET", lambda w: "/api/audit/export?format=jsonl"),
        ("GET", REPLAY + "/events"): call("GET", lambda w: f"/api/audit/conversations/{w.conversation()}/events"),
        ("GET", REPLAY + "/state"): call("GET", lambda w: f"/api/audit/conversations/{w.conversation()}/state"),
        ("GET", REPLAY + "/model-calls/{call_id:str}/request"): call("GET", lambda w: w.model_call_request()),
        ("GET", REPLAY + "/export"): call("GET", lambda w: f"/api/audit/conversations/{w.conversation()}/export"),
        ("POST", "/api/audit/erasures"): call("POST", lambda w: "/api/audit/erasures", erasable_visitor),
        ("GET", "/api/audit/conversations/export"): call(
            "GET", lambda w: "/api/audit/conversations/export?from=2026-12-01&to=2026-12-31&format=jsonl"
        ),
        ("GET", "/app/audit"): page("GET", lambda w: "/app/audit"),
        ("GET", "/app/audit/conversations/{conversation_id:uuid}"): page(
            "GET", lambda w: f"/app/audit/conversations/{w.conversation()}"
        ),
        ("GET", PROMPTS): call("GET", lambda w: PROMPTS),
        ("GET", PROMPTS + "/history"): call("GET", lambda w: PROMPTS + "/history"),
        ("GET", PROMPTS + "/versions/{version:int}"): call("GET", lambda w: PROMPTS + "/versions/1"),
        ("GET", PROMPTS + "/diff"): call("GET", lambda w: PROMPTS + "/diff?from=1&to=1"),
        ("POST", PROMPTS + "/drafts"): call("POST", lambda w: PROMPTS + "/drafts", lambda w, c: {"persona": {}}),
        ("PUT", PROMPTS + "/drafts/{draft_id:str}"): drafted("PUT", "", {"system_prompt": "Changed."}),
        ("DELETE", PROMPTS + "/drafts/{draft_id:str}"): drafted("DELETE", ""),
        ("POST", PROMPTS + "/drafts/{draft_id:str}/publish"): drafted("POST", "/publish", {"note": "matrix"}),
        ("POST", PROMPTS + "/rollback"): rolled_back,
        ("POST", PROMPTS + "/drafts/{draft_id:str}/approve"): drafted("POST", "/approve", {}, by_another_admin=True),
        ("POST", PROMPTS + "/drafts/{draft_id:str}/reject"): drafted("POST", "/reject", {}, by_another_admin=True),
        ("POST", PROMPTS + "/sandbox"): call(
            "POST", lambda w: PROMPTS + "/sandbox", lambda w, c: {"version": 1, "messages": ["hello"]}
        ),
        ("POST", PROMPTS + "/replay"): call(
            "POST", lambda w: PROMPTS + "/replay", lambda w, c: {"version": 1, "last": 2}
        ),
        ("POST", "/api/admin/escalation/decide"): call(
            "POST", lambda w: "/api/admin/escalation/decide", lambda w, c: {"messages": ["hello"]}
        ),
        ("GET", INTEGRATIONS): call("GET", lambda w: INTEGRATIONS),
        ("POST", INTEGRATIONS + "/webhooks"): call(
            "POST",
            lambda w: INTEGRATIONS + "/webhooks",
            lambda w, c: {"url": PUBLIC_HOOK, "event_types": ["csat.rated"]},
        ),
        ("PATCH", ENDPOINT): with_endpoint("PATCH", "", {"description": "matrix"}),
        ("DELETE", ENDPOINT): with_endpoint("DELETE", "", fresh=True),
        ("POST", ENDPOINT + "/rotate-secret"): with_endpoint("POST", "/rotate-secret"),
        ("POST", ENDPOINT + "/test"): with_endpoint("POST", "/test"),
        ("PUT", INTEGRATIONS + "/slack"): call(
            "PUT",
            lambda w: INTEGRATIONS + "/slack",
            lambda w, c: {"mode": "bot", "bot_token": MATRIX_SLACK_TOKEN, "channel": "#matrix"},
        ),
        ("DELETE", INTEGRATIONS + "/slack"): slack_connected,
        ("GET", INTEGRATIONS + "/slack/channels"): slack_bot("GET", "/channels"),
        ("PUT", INTEGRATIONS + "/slack/channel"): slack_bot("PUT", "/channel", {"channel": "C0ESCAL002"}),
        **{(m, path): oauth_request(path) for m, path in OAUTH_BROWSER_ROUTES},
        ("PUT", INTEGRATIONS + "/zendesk"): call(
            "PUT",
            lambda w: INTEGRATIONS + "/zendesk",
            lambda w, c: {
                "subdomain": "matrix",
                "email": "a@example.com",
                "api_token": MATRIX_ZENDESK_TOKEN,
                "base_url": MATRIX_ZENDESK.url,
            },
        ),
        ("DELETE", INTEGRATIONS + "/zendesk"): zendesk_connected,
        ("PUT", INTEGRATIONS + "/hubspot"): call(
            "PUT", lambda w: INTEGRATIONS + "/hubspot", lambda w, c: {"access_token": MATRIX_HUBSPOT_TOKEN}
        ),
        ("DELETE", INTEGRATIONS + "/hubspot"): hubspot_connected,
        ("POST", INTEGRATIONS + "/slack/test"): credential_tested("slack"),
        ("POST", INTEGRATIONS + "/zendesk/test"): credential_tested("zendesk"),
        ("POST", INTEGRATIONS + "/hubspot/test"): credential_tested("hubspot"),
        ("PUT", INTEGRATIONS + "/intercom"): call(
            "PUT", lambda w: INTEGRATIONS + "/intercom", lambda w, c: {"access_token": MATRIX_INTERCOM_TOKEN}
        ),
        ("POST", INTEGRATIONS + "/intercom/check"): intercom_connected("POST", "/check"),
        ("DELETE", INTEGRATIONS + "/intercom"): intercom_connected("DELETE", ""),
        ("GET", INTEGRATIONS + "/deliveries"): call("GET", lambda w: INTEGRATIONS + "/deliveries?status=dead_letters"),
        ("GET", DELIVERY): with_delivery("GET", ""),
        ("POST", DELIVERY + "/redeliver"): with_delivery("POST", "/redeliver"),
        ("POST", "/api/auth/password-reset/confirm"): call(
            "POST",
            lambda w: "/api/auth/password-reset/confirm",
            lambda w, c: {"token": w.reset_token(), "new_password": PASSWORD},
        ),
    }


@pytest.fixture(scope="module")
def matrix_app(container: Container, fake_llm: FakeLLMServer) -> Iterator[tuple[Litestar, httpx.Client]]:
    """The real app (offline answerer; provider keys stored and tested against the fake) on a real port."""
    vault = KeyVault(container.app, KeyCipher(MATRIX_KEYS))
    endpoints = Endpoints(fake_llm.anthropic_base_url, fake_llm.openai_base_url, 2.0)
    chat_service = ChatService(
        container.app, Providers(vault=vault, endpoints=endpoints), container.usage, RetryPolicy()
    )
    for fake in MATRIX_FAKES:
        fake.start()
    integrations = matrix_context(container)
    app = create_app(
        chat_service,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        demo_data=demo_filler(container.app, conversations=1, days=1, last_day=0),  # small: admins call it
        integrations=integrations,
        metrics_access=MetricsAccess("matrix-metrics-token-" + uuid.uuid4().hex),
    )
    server = ThreadedServer(app).start()
    follower = start_follower(container, None)  # the integrations outbox writes the delivery rows (no worker sends)
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield app, client
    server.stop()
    follower.stop()
    container.runners.remove(follower)
    for fake in MATRIX_FAKES:
        fake.stop()


def page_route(route: tuple[str, str]) -> bool:
    """A route that answers a person with a page (a refusal as HTML): not the API (except the OAuth installs'
    browser routes), nor ``/metrics`` (for Prometheus)."""
    return (not route[1].startswith("/api/") and route[1] != "/metrics") or route in OAUTH_BROWSER_ROUTES


def erasable_visitor(w: World, caller: str) -> dict[str, str]:
    """An erasure request for a new visitor of workspace A, who just started a conversation (each caller its own)."""
    user_id = f"erasable-{caller}-{uuid.uuid4().hex[:8]}"
    chat(w.client, w.widget_key, "Please forget me afterwards.", user_id=user_id)
    return {"user_id": user_id}


def test_every_route_answers_exactly_the_callers_it_should(
    matrix_app: tuple[Litestar, httpx.Client], container: Container
) -> None:
    app, client = matrix_app
    routes = discovered_routes(app)
    missing = sorted(routes - set(EXPECTED))
    assert not missing, f"routes without an expected row in the permission matrix: {missing}"
    assert not set(EXPECTED) - routes, f"EXPECTED names routes the app no longer has: {sorted(set(EXPECTED) - routes)}"
    admin, body = sign_up(client, workspace="Matrix A")
    other_admin, _ = sign_up(client, workspace="Matrix B")
    world = World(
        container,
        client,
        body["widget_key"],
        admin,
        invite_and_join(client, admin, "agent"),
        invite_and_join(client, admin, "viewer"),
        other_admin,
        invite_and_join(client, admin, "auditor"),
    )
    how = requests()
    problems = []
    for route in sorted(routes):
        allowed = set()
        for caller in CALLERS:
            response = how[route](world, caller)
            if 200 <= response.status_code < 300:
                allowed.add(caller)
            elif page_route(route) and response.status_code == 303:  # a page: to sign in first
                location = response.headers["location"]
                auditor_home = route == ("GET", "/app") and caller == AUDITOR and location == "/app/audit"
                signin = location.startswith(
                    "/signin?next=" + ("/api/integrations/" if "/api/" in route[1] else "/app")
                )
                assert signin or auditor_home, (route, caller, location)
            elif page_route(route) and response.status_code in (401, 403, 404):  # a page saying so
                assert response.headers["content-type"].startswith("text/html"), (route, caller, response.text)
            elif response.status_code not in (401, 403, 404):
                problems.append(f"{route} as {caller}: unexpected {response.status_code} {response.text[:200]}")
            elif response.status_code != 404 or not page_route(route):
                assert "code" in response.json(), (route, caller, response.text)
        if allowed != EXPECTED[route]:
            problems.append(f"{route}: allowed {sorted(allowed)}, expected {sorted(EXPECTED[route])}")
    assert not problems, "\n".join(problems)
