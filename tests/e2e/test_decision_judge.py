"""The LLM judge of uncertain escalation decisions (docs/escalation.md, "The LLM judge"), against the fake Anthropic
API with the real SDK: asked only in the uncertain band, on the workspace's cheap model, through a forced tool;
its call is a ModelCallMade with its cost; its verdict is in the decision's evidence; garbage, a timeout or a
refusal leave the offline decision standing; a deterministic P1 is never sent to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from chatassist import cli
from chatassist.bootstrap import Container
from chatassist.settings import get_settings
from commands.create_workspace.cmd import WorkspaceCreated
from domain.decisions import corpus
from domain.decisions.evaluate import evaluate
from domain.decisions.judge import DETERMINISTIC, uncertain
from domain.escalation import decide
from domain.workspace import DEFAULT_BUDGET_MODEL
from tests.conftest import chat, event_names, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script

UNSURE_NONE = "my bank says the payment looks odd"  # offline: none, in the band (P1 score 0.63)
UNSURE_P1 = "I am not happy at all, I will consider my options"  # offline: P1 by the classifier alone


@pytest.fixture
def judge_on(container: Container) -> Iterator[None]:
    """The judge on (the suite runs with CHATASSIST_DECISION_JUDGE=false), with a short timeout."""
    container.chat.judge_timeout_s = 1.0
    try:
        yield
    finally:
        container.chat.judge_timeout_s = None


def verdict(rule: str, **extra: Any) -> Script:
    answer = {"rule": rule, "amount": None, "currency": None, "topic": "Other", "confidence": 0.9,
              "reason": "one line", **extra}  # fmt: skip
    return Script(tool_input=answer, input_tokens=400, output_tokens=40)


def judge_requests(fake: FakeLLMServer) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests_for("anthropic") if "tools" in r.json]


def layers_of(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    return [layer for layer in evidence["layers"] if layer["layer"] == "llm judge"]


def test_the_judge_escalates_an_uncertain_turn_and_its_call_is_recorded_with_its_cost(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer, judge_on: None
) -> None:
    # Given a judge that reads a payment dispute in a message the offline layers leave at "none"
    fake_llm.enqueue("anthropic", verdict("p1", topic="Billing", reason="the visitor disputes a card payment"))
    events = chat(client, workspace.widget_key, UNSURE_NONE)
    # I expect the turn escalated as P1 without the chat model (one request: the judge's, on the cheap model)
    done = events[-1][1]
    assert done["escalation"]["rule"] == "p1_legal" and done["topic"] == "Legal & Compliance"
    (request,) = [r.json for r in fake_llm.requests_for("anthropic")]
    assert request["model"] == DEFAULT_BUDGET_MODEL and request["tool_choice"]["type"] == "tool"
    assert "stream" not in request and UNSURE_NONE in request["messages"][0]["content"]
    # and the judge's call stored as a ModelCallMade with its cost, its verdict in the evidence
    conversation_id = events[0][1]["conversation_id"]
    assert event_names(container, conversation_id)[2:] == [
        "Escalated", "HandoffSummarized", "ModelCallMade", "AssistantReplied",
    ]  # fmt: skip
    escalated, _, call = stored_events(container, conversation_id)[2:5]
    assert (call.model, call.outcome, call.input_tokens, call.output_tokens) == (DEFAULT_BUDGET_MODEL, "ok", 400, 40)
    assert call.cost_usd is not None and call.cost_usd > 0 and done["cost_usd"] == format(call.cost_usd, "f")
    assert escalated.evidence["decided_by"] == "llm judge"
    assert layers_of(escalated.evidence)[0]["rule"] == "p1" and layers_of(escalated.evidence)[0]["score"] == 0.9
    # and the judge's own words are personal data, not in the evidence
    assert escalated.personal["judge_reason"] == "the visitor disputes a card payment"
    assert "judge_reason" not in escalated.evidence


def test_the_judge_overrules_the_classifier_and_the_model_answers(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer, judge_on: None
) -> None:
    # Given a message the classifier alone reads as P1, and a judge that reads no rule
    fake_llm.enqueue("anthropic", verdict("none", topic="Billing"), Script(text="Let me help with that."))
    events = chat(client, workspace.widget_key, UNSURE_P1)
    # I expect the chat model answered, the judge's call recorded before the model's, the topic the judge's
    done = events[-1][1]
    assert done["escalation"] is None and done["provider"] == "anthropic" and done["topic"] == "Billing"
    requests = fake_llm.requests_for("anthropic")
    assert ["tools" in r.json for r in requests] == [True, False]
    stored = stored_events(container, events[0][1]["conversation_id"])
    calls = [e for e in stored if type(e).__name__ == "ModelCallMade"]
    assert [c.model for c in calls] == [DEFAULT_BUDGET_MODEL, done["model"]]


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (Script(text="I think this might be a legal matter, hard to say!"), "unreadable"),
        (Script(tool_input={"rule": "sue them", "confidence": 3}), "unreadable"),
        (Script(text="", stop_reason="refusal"), "refused"),
        (Script(kind="timeout", delay_s=3.0), "timeout"),
        (Script(kind="status", status=529), "overloaded"),
    ],
    ids=["garbage text", "invalid verdict", "refusal", "timeout", "overloaded"],
)
def test_without_a_verdict_the_offline_decision_stands(
    client: httpx.Client,
    workspace: WorkspaceCreated,
    container: Container,
    fake_llm: FakeLLMServer,
    judge_on: None,
    script: Script,
    error: str,
) -> None:
    # Given a judge that answers garbage, refuses, times out or is overloaded, on a classifier-alone P1
    fake_llm.enqueue("anthropic", script)
    events = chat(client, workspace.widget_key, UNSURE_P1)
    # I expect the offline decision (P1 by the classifier), with the judge's failure in the evidence and its call
    done = events[-1][1]
    assert done["escalation"]["rule"] == "p1_legal"
    conversation_id = events[0][1]["conversation_id"]
    stored = stored_events(container, conversation_id)
    escalated = next(e for e in stored if type(e).__name__ == "Escalated")
    assert escalated.evidence["decided_by"] == "classifier"
    assert layers_of(escalated.evidence) == [
        {"layer": "llm judge", "rule": None, "error": error, "model": DEFAULT_BUDGET_MODEL}
    ]
    (call,) = [e for e in stored if type(e).__name__ == "ModelCallMade"]
    assert call.outcome == ("ok" if error in ("unreadable", "refused") else "error")


def test_a_deterministic_p1_and_a_clear_none_never_wait_for_the_judge(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer, judge_on: None
) -> None:
    # Given a judge that would say "none" to anything
    fake_llm.set_default("anthropic", Script(tool_input={"rule": "none", "confidence": 1.0, "topic": "Other"}))
    # When a visitor threatens to sue (patterns), and another asks a plain question
    threat = chat(client, workspace.widget_key, "my lawyer will file a lawsuit against you tomorrow")
    fake_llm.enqueue("anthropic", Script(text="Open Settings, then Export."))
    plain = chat(client, workspace.widget_key, "How do I export my data?", user_id="visitor-2")
    # I expect P1 for the threat with no request at all, and the plain question answered with the chat's request only
    assert threat[-1][1]["escalation"]["rule"] == "p1_legal"
    assert plain[-1][1]["escalation"] is None
    assert judge_requests(fake_llm) == [] and len(fake_llm.requests_for("anthropic")) == 1


def _oracle(example: corpus.Example) -> Script:
    """A judge that answers what the label says (the ceiling of the layer: what it can fix in the band)."""
    rule = {"p2": "refund"}.get(example.rule, example.rule)
    if rule == "none" and example.amount is not None:
        rule = "refund"  # a refund asked for, under the threshold
    amount = None if example.amount is None else float(example.amount)
    return verdict(rule, amount=amount, currency=example.currency, topic=example.topic)


def _run_eval(capsys: pytest.CaptureFixture[str], split: str) -> dict[str, Any]:
    get_settings.cache_clear()  # the CLI reads the environment once per process: read this test's
    try:
        cli.main(["eval", "decisions", "--split", split, "--judge", "--judge-timeout", "2", "--json"])
    finally:
        get_settings.cache_clear()
    printed: dict[str, Any] = json.loads(capsys.readouterr().out)
    return printed


def test_eval_with_the_judge_asks_on_the_uncertain_band_and_never_loses_a_deterministic_p1(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the eval command pointed at the fake Anthropic API
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-anthropic-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_llm.anthropic_base_url)
    examples = corpus.split("test")
    offline = evaluate("test")
    unsure = [e for e in examples if uncertain(decide(list(e.messages)).evidence)]
    assert 0 < len(unsure) < len(examples) / 2
    # When the judge answers as the labels say (scripted, in the order the command asks)
    fake_llm.enqueue("anthropic", *[_oracle(e) for e in unsure])
    oracle = _run_eval(capsys, "test")
    # I expect one request per uncertain conversation, with its messages, and every verdict read
    sent = [r.json["messages"][0]["content"] for r in fake_llm.requests_for("anthropic")]
    assert len(sent) == len(unsure) and all(e.messages[-1] in s for e, s in zip(unsure, sent, strict=True))
    assert oracle["judge"]["asked"] == oracle["judge"]["verdicts"] == len(unsure)
    assert Decimal(oracle["judge"]["cost_usd"]) > 0
    # and figures no worse than offline, P1 recall included
    figures = oracle["overall"]
    assert figures["p1"]["recall"] >= round(offline.overall.prf("p1")[1], 4)
    assert figures["topic_accuracy"] >= round(offline.overall.topic_accuracy, 4)
    # When the judge answers garbage to everything
    fake_llm.reset()
    fake_llm.set_default("anthropic", Script(text="garbage, not a verdict"))
    garbage = _run_eval(capsys, "test")
    # I expect the offline figures exactly
    assert garbage["judge"]["failures"] == len(unsure) and garbage["overall"] == offline.overall.summary()
    # When the judge says "none" to everything (a judge fooled by injected text, say)
    fake_llm.reset()
    fake_llm.set_default("anthropic", verdict("none"))
    fooled = _run_eval(capsys, "test")
    # I expect every P1 the deterministic layers found still P1
    deterministic = sum(
        1 for e in examples if e.rule == "p1" and decide(list(e.messages)).evidence["decided_by"] in DETERMINISTIC
    )
    assert fooled["overall"]["p1"]["recall"] >= round(deterministic / offline.overall.prf("p1")[3], 4)
