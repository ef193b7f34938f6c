"""A workload with every domain event class, made through the aggregates' methods; and a typed deep equality.

``every_event_aggregates()`` drives each aggregate of domain/ through each of its event-triggering methods, with
values that exercise the transcoder: UUIDs, Decimals and datetimes at the top level and nested in dicts and lists,
tuples (stored as lists), floats and ints (large ones too), None, booleans, non-ASCII and control characters, and
user dicts whose keys look like the transcoder's own (``_type_``). ``domain_event_classes()`` lists the classes
it must cover, so a new event class without a place here fails the tests that use it.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, CanInitAggregate

import domain
from domain.account import Account, AccountEmailIndex, email_hash
from domain.app_settings import AppSettings
from domain.audit_access import AuditAccess
from domain.chain_anchor import ChainAnchor
from domain.conversation import Conversation, ModelCall
from domain.escalation import Decision
from domain.integrations import Integrations, Secret
from domain.knowledge import Article
from domain.prompt_config import PromptConfig
from domain.prompt_content import PromptContent
from domain.provider_keys import ProviderKeyring
from domain.sandbox import SandboxRun
from domain.widget_security import WidgetSecurity
from domain.workspace import WidgetKeyIndex, Workspace, WorkspaceSettings

TRICKY_TEXT = 'Zoë 🙂 naïve — 日本語 עברית "quoted" \\ back\tslash\nnew line \x00\x1f \u2028 e\u0301'
LOOKALIKES = {
    "one_key": {"_type_": "uuid_hex"},
    "three_keys": {"_type_": "uuid_hex", "_data_": "0" * 32, "extra": 1},
    "other_pair": {"_type_": "decimal_str", "data": "1.5"},
    "_type_": "a top-level key named like the transcoder's",
}
NUMBERS = {
    "big": 2**80,
    "negative_big": -(10**30),
    "float": 0.1,
    "negative_zero": -0.0,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "whole_float": 3.0,
    "int": 3,
    "bool": True,
    "none": None,
}


def domain_event_classes() -> set[type[Any]]:
    """Every event class an aggregate of domain/ can trigger (the library's unused default ``Created`` left out)."""
    found: set[type[Any]] = set()
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{module_info.name}")
        for aggregate in vars(module).values():
            if not (isinstance(aggregate, type) and issubclass(aggregate, Aggregate)) or aggregate is Aggregate:
                continue
            if aggregate.__module__ != module.__name__:
                continue
            classes = [
                c
                for c in vars(aggregate).values()
                if isinstance(c, type) and issubclass(c, aggregate.Event) and c is not aggregate.Event
            ]
            created = [c for c in classes if issubclass(c, CanInitAggregate)]
            found.update(c for c in classes if not (len(created) > 1 and c.__name__ == "Created"))
    return found


def every_event_aggregates(now: datetime | None = None) -> list[Aggregate]:
    """New aggregates of every kind, each driven through every method that triggers an event (not yet saved)."""
    now = now or datetime.now(UTC)
    admin, reviewer, unique = uuid4(), uuid4(), uuid4().hex[:12]
    widget_key, email = f"wk_{unique}", f"zoë-{unique}@example.com"  # the index aggregates' ids derive from them
    settings = WorkspaceSettings().to_dict()
    knowledge = [{"id": "kb-1", "title": "Plans", "text": TRICKY_TEXT, "keywords": ("plan", "billing")}]
    workspace = Workspace("Acme ✓", widget_key, settings, knowledge, [{"user": "hi", "assistant": "hello"}])
    workspace.change_settings({"max_history_turns": 4, "system_prompt": "Be brief. " + TRICKY_TEXT})
    workspace.replace_knowledge([*knowledge, {"id": "kb-2", "title": "T", "text": "x", "keywords": []}], [])
    workspace.start_trial(now)
    workspace.add_member(admin, "admin", by=admin)
    workspace.add_member(reviewer, "agent", by=admin)
    workspace.change_role(reviewer, "admin", by=admin)
    account = Account({"email": email, "name": "Zoë", **LOOKALIKES}, "$argon2id$v=19$m=65536$abc")
    account.change_password("$argon2id$v=19$m=65536$def")
    account.signed_in(workspace.id, now.astimezone(timezone(timedelta(hours=-5))))
    account.join(workspace.id)
    workspace.issue_invite("inv-1", email_hash(email), "viewer", by=admin, expires_at=now + timedelta(7))
    workspace.accept_invite("inv-1", email_hash(email), account.id, now)
    workspace.remove_member(account.id, by=admin)
    article = Article(
        workspace.id, "Plans ✓", "# Plans\n\n" + TRICKY_TEXT, "https://help.example.com/plans", ["plan", "zoë"],
        "fr", False, "crawl", "sha256:" + "0" * 64, None,
    )  # fmt: skip
    article.edit({"body": "Changed. " + TRICKY_TEXT, "tags": ["plan"]}, by=admin)
    article.publish(by=admin)
    article.unpublish(by=admin)
    article.delete(by=admin)
    workspace.note_knowledge_changed([str(article.id)], by=admin)

    app_settings = AppSettings(workspace.id)
    app_settings.change({"time_zone": "Europe/Paris", "holidays": ["2026-12-25"], "show_ai_badge": False}, by=admin)
    app_settings.record_chat_change({"max_history_turns": 4, "numbers": NUMBERS}, by=admin)

    keyring = ProviderKeyring(workspace.id)
    keyring.set_key("anthropic", "key-1", "gAAAAABciphertext==", "wxyz", by=admin)
    keyring.record_test("anthropic", False, "401 Unauthorized: " + TRICKY_TEXT, by=admin)
    keyring.remove_key("anthropic", by=admin)

    prompts = PromptConfig(workspace.id, 1, PromptContent(system_prompt="You help. " + TRICKY_TEXT).to_dict())
    prompts.save_draft("d-1", {"persona": {"tone": "warm"}}, by=admin)
    prompts.review_draft("d-1", False, "too warm", by=reviewer)
    prompts.review_draft("d-1", True, "fine after all", by=reviewer)
    prompts.publish("d-1", "warmer", None, by=admin)
    prompts.save_draft("d-2", {"system_prompt": "Something else"}, by=admin)
    prompts.discard_draft("d-2", by=admin)
    prompts.roll_back(1, "back to the start", by=admin)

    sandbox = SandboxRun(workspace.id, admin, {"version": 2}, 2, {"messages": ["hi", TRICKY_TEXT]})
    facts = {
        "tokens": 1234,
        "cost_usd": Decimal("0.004215"),
        "confidence": 0.71,
        "at": now.replace(tzinfo=None),
        "ids": (admin, reviewer),
    }
    sandbox.turn_answered(1, "answered", facts, [{"attempt": 1, "latency_ms": 812.5}], None, {"answer": "ok"})
    sandbox.finish(1, "completed")

    security = WidgetSecurity(workspace.id)
    security.set_allowed_origins(["https://app.example.com", "http://localhost:3000"], by=admin)
    security.set_identity_verification(True, by=admin)
    security.rotate_secret(by=admin)

    anchor = ChainAnchor(workspace.id)
    anchor.record(1843, [[str(uuid4()), 3, "a" * 64]], [[str(uuid4()), 2, "b" * 64]])

    integrations = Integrations(workspace.id)
    integrations.add_endpoint(
        "ep_1",
        "https://hooks.example.com/x",
        ["csat.rated"],
        TRICKY_TEXT[:40],
        Secret("k1", "Y2lwaGVy", "abcd"),
        by=admin,
    )
    integrations.change_endpoint("ep_1", {"event_types": ["message.created"], "enabled": False}, by=admin)
    integrations.change_endpoint("ep_1", {"enabled": True}, by=admin)
    integrations.rotate_secret("ep_1", Secret("k1", "bmV3", "wxyz"), by=admin)
    integrations.request_test("ep_1", "test_1", by=admin)
    integrations.disable_endpoint("ep_1", "The endpoint answered 410 Gone.")
    integrations.request_redelivery("00000000-0000-0000-0000-000000000001", by=admin)
    integrations.connect_slack("bot", Secret("k1", "dG9rZW4=", "9z8y"), "#support", by=admin)
    integrations.record_credential_check("slack", False, "Slack answered invalid_auth", admin)
    integrations.choose_slack_channel("C0ALERTS01", by=admin)
    integrations.record_grant_revoked("slack", True, "auth.revoke: revoked", by=admin)
    integrations.disconnect_slack(by=admin)
    integrations.connect_zendesk(
        "acme", "ops@example.com", Secret("k1", "dG9r", "tokn"), None, {"support": 360001}, by=admin
    )
    integrations.install_zendesk("acme", Secret("k1", "b2F1dGg=", "oaut"), None, by=admin)
    integrations.disconnect_zendesk(by=admin)
    integrations.connect_hubspot(Secret("k1", "cGF0", "hubs"), by=admin)
    integrations.install_hubspot(
        Secret("k1", "YWNj", "acc1"), Secret("k1", "cmVm", "ref1"), datetime(2026, 12, 7, 10, 30, tzinfo=UTC),
        "62515", ["crm.objects.contacts.read", "crm.objects.contacts.write"], by=admin,
    )  # fmt: skip
    refreshed = datetime(2026, 12, 7, 11, tzinfo=UTC)
    integrations.record_token_refreshed("hubspot", Secret("k1", "YWNjMg==", "acc2"), refreshed)
    integrations.disconnect_hubspot(by=admin)
    integrations.connect_intercom(Secret("k1", "aWM=", "icom"), "token of ops@example.com", by=admin)
    integrations.record_intercom_check(False, "Intercom answered 401: the token was rejected")
    integrations.disconnect_intercom(by=admin)
    integrations.record_budget_threshold("2026-12", 80, 80_500, 100_000)
    integrations.remove_endpoint("ep_1", by=admin)

    return [
        workspace,
        anchor,
        WidgetKeyIndex(widget_key, workspace.id),
        account,
        AccountEmailIndex(email_hash(email), account.id),
        app_settings,
        keyring,
        prompts,
        sandbox,
        security,
        article,
        integrations,
        _conversation(workspace.id, admin, now),
        AuditAccess(workspace.id, reviewer, "conversation.exported", uuid4(), {"format": "jsonl", "events": 12}),
    ]


def _call(attempt: int, outcome: str, cost: Decimal | None) -> ModelCall:
    ok = outcome == "ok"
    ttft, error = (312.5, None) if ok else (None, "overloaded")
    return ModelCall(
        f"call-{attempt}",
        "anthropic",
        "claude-sonnet-4-6",
        2,
        attempt,
        1800,
        240,
        1024,
        0,
        ttft,
        1450.0,
        cost,
        outcome,
        error,
        "9f" * 32 if ok else None,
    )


def _conversation(workspace_id: UUID, agent: UUID, now: datetime) -> Conversation:
    personal = {"user_id": "visitor-ü", "email": None, "name": TRICKY_TEXT, "traits": {"plan": "pro", "seats": 12}}
    c = Conversation(workspace_id, "widget", {**personal, "extra": LOOKALIKES, "numbers": NUMBERS}, "cd" * 32)
    c.receive("m-1", "How do I change my plan? " + TRICKY_TEXT)
    c.change_visitor({"user_id": "user-42", "email": "zoë@example.com", "name": TRICKY_TEXT}, "ab" * 32)
    c.record_model_call("m-1", _call(1, "fell_back", None))
    c.record_model_call("m-1", _call(2, "ok", Decimal("0.0090")))
    assessment = {"final": 0.66, "self_assessed": 0.7, "retrieval": 0.62, "hedging": 1.0, "sources": ["kb-1"]}
    c.reply(
        "r-1",
        "m-1",
        "Under Settings, Billing.",
        confidence=0.66,
        topic="Billing",
        provider="anthropic",
        model="claude-sonnet-4-6",
        prompt_version=2,
        assessment=assessment,
        knowledge={
            "workspace_id": workspace_id,
            "retrieved": [{"article_id": str(agent), "version": 3, "chunk": 0, "score": 0.25, "support": 0.5}],
            "citations": [{"article_id": str(agent), "version": 3, "title": TRICKY_TEXT, "url": None}],
            "support": 0.5,
            "gap": True,
        },
        question="How do I change my plan? " + TRICKY_TEXT,
    )
    c.offer_escalation("m-1", _decision("offer", "low_confidence", None))
    c.receive("m-2", "I want a refund of 250 dollars, a human please")
    c.escalate("m-2", _decision("escalate", "p2_refund_over_threshold", now + timedelta(hours=15)))
    c.reply(
        "r-2",
        "m-2",
        "Bringing in someone.",
        confidence=1.0,
        topic="Refunds",
        provider="rules",
        model="-",
        prompt_version=2,
    )
    c.summarize_for_handoff()
    c.claim(str(agent))
    c.agent_reply(str(agent), "a-1", "Hi, Ana here.", agent_name="Ana")
    c.add_note(str(agent), "n-1", "Refund approved. " + TRICKY_TEXT)
    c.change_topic("Refunds & Cancellation", by=str(agent))
    c.return_to_ai(str(agent))
    c.recall_escalation(str(agent), "not over the threshold: " + TRICKY_TEXT[:100], "none")
    c.receive("m-3", "Thanks!")
    c.fail_turn("m-3", "provider_unavailable", "every provider failed")
    c.resolve("agent")
    c.rate(5, "Great ✨")
    c.record_external_ticket("zendesk", "4321")
    c.close("resolved", by=str(agent))
    c.erase_personal_data("5b1c2f0e-erasure", str(agent), "request")
    return c


def _decision(action: str, rule: str, next_open: datetime | None) -> Decision:
    evidence = {"amount": Decimal("250.00"), "threshold": Decimal(200), "matched": ["refund", "human"], "turns": 2}
    return Decision(
        rule,
        2,
        action,
        "A refund over the threshold",
        evidence,
        "billing",
        "One moment, please.",
        "Refunds",
        next_open is not None,
        next_open.isoformat() if next_open else None,
    )


def same(a: Any, b: Any) -> bool:
    """Equal in value and in type, recursively: dict key order, -0.0, Decimal exponents and tzinfo count."""
    pending = [(a, b)]  # a stack, not recursion: documents may nest deeper than Python's recursion limit
    while pending:
        x, y = pending.pop()
        if type(x) is not type(y):
            return False
        if hasattr(x, "__dict__") and not isinstance(x, type):
            x, y = vars(x), vars(y)
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            pending.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list | tuple):
            if len(x) != len(y):
                return False
            pending.extend(zip(x, y, strict=True))
        elif not _same_leaf(x, y):
            return False
    return True


def _same_leaf(a: Any, b: Any) -> bool:
    if isinstance(a, float):
        return a.hex() == b.hex() or (math.isnan(a) and math.isnan(b))
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()
    if isinstance(a, datetime):
        return a.isoformat() == b.isoformat() and type(a.tzinfo) is type(b.tzinfo)
    if isinstance(a, set | frozenset):
        return {(type(x), x) for x in a} == {(type(y), y) for y in b}
    if isinstance(a, UUID):
        return a == b and a.is_safe == b.is_safe
    return bool(a == b)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where ``same(a, b)`` fails, as readable paths (for assertion messages)."""
    if same(a, b):
        return []
    if type(a) is type(b) and isinstance(a, dict) and list(a) == list(b):
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    if type(a) is type(b) and isinstance(a, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    return [f"{path or '.'}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"]
