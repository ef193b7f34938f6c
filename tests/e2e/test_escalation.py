"""The escalation rules on the real server: escalations skip the model, offers ride on the answer, the sandbox
writes nothing."""

from __future__ import annotations

import httpx

from chatassist.bootstrap import Container
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import chat, event_names, stored_events
from tests.fakes.llm_server import FakeLLMServer
from tests.support.accounts import invite_and_join, sign_up
from tests.support.sse import names
from tests.support.visitors import widget_headers

DECIDE = "/api/admin/escalation/decide"
PROMPTS = "/api/admin/prompts"


def text_of(events: list[tuple[str, dict]]) -> str:  # type: ignore[type-arg]
    return "".join(d["text"] for n, d in events if n == "delta")


def test_a_legal_threat_escalates_at_once_without_the_model(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given a visitor who threatens to sue
    events = chat(client, workspace.widget_key, "This is fraud, my lawyer will be contacting you about a lawsuit")
    # I expect no request to any provider, the holding message streamed, and done.escalation
    assert fake_llm.requests == []
    assert names(events) == ["start", "delta*", "done"]
    done = events[-1][1]
    assert done["escalation"]["rule"] == "p1_legal" and done["escalation"]["priority"] == 1
    assert done["escalation"]["route"] == "legal" and done["escalation"]["action"] == "escalate"
    assert text_of(events) == done["escalation"]["message"]
    assert (done["provider"], done["model"], done["attempts"], done["topic"]) == (
        "escalation",
        "rules",
        0,
        "Legal & Compliance",
    )
    # and the stored events end with Escalated, the handoff summary and the holding reply
    conversation_id = events[0][1]["conversation_id"]
    assert event_names(container, conversation_id) == [
        "Started",
        "UserMessageReceived",
        "Escalated",
        "HandoffSummarized",
        "AssistantReplied",
    ]
    escalated, summarized, reply = stored_events(container, conversation_id)[2:]
    assert "p1_legal" in summarized.personal["summary"]
    assert (escalated.rule, escalated.priority, escalated.route) == ("p1_legal", 1, "legal")
    assert "lawyer" in escalated.personal["matched"] and "lawyer" not in escalated.reason
    assert reply.personal["text"] == escalated.holding_message and reply.provider == "escalation"
    # and the transcript and the analytics take the new events in their stride
    container.wait_for_projections()
    transcript = client.get(
        f"/api/conversations/{conversation_id}", headers=widget_headers(workspace.widget_key, conversation_id)
    )
    assert transcript.status_code == 200, transcript.text
    last = transcript.json()["messages"][-1]
    assert (last["role"], last["text"], last["provider"], last["model"]) == (
        "assistant",
        escalated.holding_message,
        "escalation",
        "rules",
    )


def test_a_500_dollar_refund_goes_to_billing_and_a_50_dollar_one_to_the_ai(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    big = chat(client, workspace.widget_key, "I want a refund of the $500 you charged me last week")
    assert fake_llm.requests == []
    escalation = big[-1][1]["escalation"]
    assert (escalation["rule"], escalation["route"], escalation["priority"]) == (
        "p2_refund_over_threshold",
        "billing",
        2,
    )
    escalated = stored_events(container, big[0][1]["conversation_id"])[2]
    assert (escalated.evidence["amount"], escalated.evidence["currency"]) == ("500", "USD")

    small = chat(client, workspace.widget_key, "can i get a refund for the $50 add-on?", user_id="visitor-2")
    assert len(fake_llm.requests_for("anthropic")) == 1
    assert small[-1][1]["escalation"] is None and small[-1][1]["provider"] == "anthropic"
    assert event_names(container, small[0][1]["conversation_id"])[-1] == "AssistantReplied"


def test_asking_for_a_human_is_honoured(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    first = chat(client, workspace.widget_key, "How do I reset my password?")
    conversation_id = first[0][1]["conversation_id"]
    events = chat(client, workspace.widget_key, "can i talk to a human", conversation_id=conversation_id)
    assert len(fake_llm.requests_for("anthropic")) == 1  # only the first turn reached the model
    assert events[-1][1]["escalation"]["rule"] == "human_requested"
    assert event_names(container, conversation_id)[-3:] == ["Escalated", "HandoffSummarized", "AssistantReplied"]


def test_the_sixth_unresolved_turn_offers_a_person(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    conversation_id = None
    for n in range(1, 7):
        events = chat(
            client, workspace.widget_key, f"the export still fails, attempt {n}", conversation_id=conversation_id
        )
        conversation_id = events[0][1]["conversation_id"]
        done = events[-1][1]
        if n < 6:
            assert done["escalation"] is None or done["escalation"]["rule"] == "low_confidence"
    assert done["provider"] == "anthropic"  # answered normally
    assert done["escalation"]["rule"] == "p3_turn_limit" and done["escalation"]["action"] == "offer"
    assert len(fake_llm.requests_for("anthropic")) == 6
    assert event_names(container, conversation_id)[-2:] == ["AssistantReplied", "EscalationOffered"]
    offered = stored_events(container, conversation_id)[-1]
    assert offered.rule == "p3_turn_limit" and offered.evidence["turns"] == 6


def test_the_sandbox_decides_with_the_live_rules_and_writes_nothing(
    client: httpx.Client, container: Container, fake_llm: FakeLLMServer
) -> None:
    admin, _ = sign_up(client, workspace="Sandbox Co")
    agent = invite_and_join(client, admin, "agent")
    before = container.app.recorder.max_notification_id()
    legal = client.post(DECIDE, json={"messages": ["voy a hablar con mi abogado"]}, headers=admin.headers)
    assert legal.status_code == 200, legal.text
    assert legal.json()["rule"] == "p1_legal" and legal.json()["route"] == "legal"
    refund = client.post(DECIDE, json={"messages": ["refund my €300 please"]}, headers=admin.headers).json()
    assert (refund["rule"], refund["evidence"]["amount"], refund["evidence"]["currency"]) == (
        "p2_refund_over_threshold",
        "300",
        "EUR",
    )
    low = client.post(DECIDE, json={"messages": ["how do webhooks work"], "confidence": 0.2}, headers=admin.headers)
    assert low.json()["rule"] == "low_confidence" and low.json()["evidence"]["score"] == 0.2
    assert container.app.recorder.max_notification_id() == before
    assert fake_llm.requests == []
    # an agent may not; a bad body is a 400
    assert client.post(DECIDE, json={"messages": ["hi"]}, headers=agent.headers).status_code == 403
    assert client.post(DECIDE, json={"messages": []}, headers=admin.headers).status_code == 400
    for body, code in (
        ({"messages": ["  "]}, "invalid_message"),
        ({"messages": ["x"], "confidence": 2}, "out_of_range"),
    ):
        refused = client.post(DECIDE, json=body, headers=admin.headers)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    assert container.app.recorder.max_notification_id() == before
    # the workspace's published escalation logic overrides the defaults
    draft = client.post(
        f"{PROMPTS}/drafts", json={"escalation": {"thresholds": {"refund_over": 1000}}}, headers=admin.headers
    )
    assert draft.status_code == 201, draft.text
    published = client.post(f"{PROMPTS}/drafts/{draft.json()['draft_id']}/publish", json={}, headers=admin.headers)
    assert published.status_code == 201, published.text
    again = client.post(DECIDE, json={"messages": ["refund my €300 please"]}, headers=admin.headers).json()
    assert again["rule"] == "none" and again["prompt_version"] == published.json()["version"]


def test_the_sandbox_converts_amounts_to_the_workspaces_currency_and_applies_its_compliance_policy(
    client: httpx.Client, container: Container
) -> None:
    # Given a workspace in euros (threshold 500 EUR), with its own rate for the pound, that escalates compliance
    admin, _ = sign_up(client, workspace="Euro Co")
    logic = {"currency": "EUR", "rates": {"GBP": 1.5}, "compliance_questions": "escalate"}
    draft = client.post(
        f"{PROMPTS}/drafts", json={"escalation": {**logic, "thresholds": {"refund_over": 500}}}, headers=admin.headers
    )
    assert draft.status_code == 201, draft.text
    published = client.post(f"{PROMPTS}/drafts/{draft.json()['draft_id']}/publish", json={}, headers=admin.headers)
    assert published.status_code == 201, published.text
    before = container.app.recorder.max_notification_id()
    # When a visitor asks back £400 (= 600 USD at the workspace's rate, about 517 EUR) and another $500 (431 EUR)
    pounds = client.post(DECIDE, json={"messages": ["please refund the £400"]}, headers=admin.headers).json()
    dollars = client.post(DECIDE, json={"messages": ["please refund the $500"]}, headers=admin.headers).json()
    question = client.post(DECIDE, json={"messages": ["is your product GDPR compliant?"]}, headers=admin.headers)
    # I expect P2 for the pounds only, compared in euros, and the compliance question escalated by the policy
    assert pounds["rule"] == "p2_refund_over_threshold", pounds
    assert (pounds["evidence"]["currency"], pounds["evidence"]["workspace_currency"]) == ("GBP", "EUR")
    assert 510 < float(pounds["evidence"]["converted"]) < 525
    assert dollars["rule"] == "none"
    assert question.json()["rule"] == "p1_legal"
    assert question.json()["evidence"]["decided_by"] == "policy: compliance questions escalate"
    # and nothing was written
    assert container.app.recorder.max_notification_id() == before
