"""The prompt configuration: validation, drafts, publish, rollback, conflicts, diff, and the exact provider messages."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from commands._prompt_config import LivePrompt, baseline_content, check_models
from commands.ai.prompt import anthropic_params, openai_messages
from commands.chat_turn.service import prepare
from domain.conversation import Turn
from domain.errors import Conflict, InvalidInput, NotFound
from domain.prompt_config import PromptConfig, VersionConflict
from domain.prompt_content import DEFAULT_ESCALATION, DEFAULT_PERSONA, PromptContent, diff
from domain.workspace import Workspace

ADA, BOB = uuid.uuid4(), uuid.uuid4()
KNOWLEDGE = [{"id": "reset", "title": "Reset your password", "text": "Click Forgot password.", "keywords": ["reset"]}]


def workspace() -> Workspace:
    return Workspace(
        "Acme",
        "wk_test",
        {"system_prompt": "You help {workspace} customers."},
        KNOWLEDGE,
        [{"user": "invoice?", "assistant": "Settings > Billing."}],
    )


def config() -> PromptConfig:
    ws = workspace()
    return PromptConfig(ws.id, ws.prompt_version, baseline_content(ws).to_dict())


def test_the_baseline_is_the_workspace_prompt_and_examples_as_version_1_with_sensible_defaults() -> None:
    c = config()
    assert c.live_version == 1 and c.live.kind == "initial" and not c.versioned
    content = c.live.content
    assert content.system_prompt == "You help {workspace} customers."
    assert content.examples == [{"id": "ex-1", "user": "invoice?", "assistant": "Settings > Billing."}]
    assert "Billing" in content.topic_rules and content.escalation == DEFAULT_ESCALATION
    assert content.persona["primary_model"] == "claude-sonnet-4-6" and content.persona["max_response_tokens"] == 1024
    assert set(content.persona) == set(DEFAULT_PERSONA)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"system_prompt": "   "}, "empty_system_prompt"),
        ({"system_prompt": "x" * 20_001}, "prompt_too_long"),
        ({"examples": [{"user": "hi"}]}, "invalid_example"),
        ({"examples": [{"user": "hi", "assistant": ""}]}, "invalid_example"),
        (
            {"examples": [{"id": "a", "user": "u", "assistant": "a"}, {"id": "a", "user": "u", "assistant": "a"}]},
            "invalid_example",
        ),
        ({"examples": "hello"}, "invalid_example"),
        ({"examples": [{"id": ["a"], "user": "u", "assistant": "a"}]}, "invalid_example"),
        ({"examples": [{"id": "has space", "user": "u", "assistant": "a"}]}, "invalid_example"),
        ({"examples": [{"user": "u", "assistant": "a", "extra": 1}]}, "invalid_example"),
        ({"persona": {"max_response_tokens": 15}}, "out_of_range"),
        ({"persona": {"max_response_tokens": 8193}}, "out_of_range"),
        ({"persona": {"max_response_tokens": True}}, "out_of_range"),
        ({"persona": {"escalation_threshold": 1.5}}, "out_of_range"),
        ({"persona": {"max_response_words": 5}}, "out_of_range"),
        ({"persona": {"language": "xx"}}, "invalid_persona"),
        ({"persona": {"mood": "sunny"}}, "invalid_persona"),
        ({"persona": {"primary_model": ""}}, "unknown_model"),
        ({"topic_rules": {"Billing": "invoice"}}, "invalid_topic_rules"),
        ({"escalation": {"thresholds": {"low_confidence": 2}}}, "out_of_range"),
        ({"escalation": {"thresholds": {"max_ai_replies": 2.5}}}, "out_of_range"),
        ({"escalation": {"routing": {"default": "support"}}}, "invalid_escalation"),
        ({"escalation": {"holding_messages": {"after_hours": ""}}}, "invalid_escalation"),
        ({"escalation": {"speed": 1}}, "invalid_escalation"),
        ({"tone": "warm"}, "invalid_prompt_config"),
    ],
)
def test_bad_content_is_refused_with_a_code_and_a_sentence_and_records_nothing(
    changes: dict[str, Any], code: str
) -> None:
    c = config()
    with pytest.raises(InvalidInput) as err:
        c.save_draft("d1", changes, ADA)
    assert err.value.code == code and err.value.message.endswith("."), err.value.message
    assert c.drafts == {} and [type(e).__name__ for e in c.collect_events()] == ["Created"]


def test_a_model_no_provider_serves_is_unknown_model() -> None:
    content = config().live.content.with_changes({"persona": {"fallback_model": "llama-3"}})
    with pytest.raises(InvalidInput) as err:
        check_models(content)
    assert err.value.code == "unknown_model"
    check_models(content.with_changes({"persona": {"fallback_model": "gpt-4o"}}))


def test_drafts_publish_and_rollback_append_versions_and_never_rewrite_history() -> None:
    c = config()
    c.save_draft("d1", {"system_prompt": "Version two."}, ADA)
    c.save_draft("d2", {"persona": {"tone": "warm"}}, BOB)
    c.save_draft("d1", {"examples": [{"user": "u", "assistant": "a"}]}, ADA)  # changes the same draft
    assert c.drafts["d1"].content.system_prompt == "Version two."
    assert c.drafts["d1"].content.examples == [{"id": "ex-1", "user": "u", "assistant": "a"}]
    assert c.drafts["d2"].content.persona["tone"] == "warm" and c.drafts["d2"].content.persona["language"] == "auto"
    v2 = c.publish("d1", "Shorter prompt", None, ADA)
    assert (v2.version, v2.kind, v2.by, v2.note, v2.based_on_version) == (2, "published", ADA, "Shorter prompt", 1)
    assert c.versioned and "d1" not in c.drafts and c.live.content.system_prompt == "Version two."
    c.save_draft("d3", {"system_prompt": "Version three."}, BOB)
    c.publish("d3", "", 2, BOB)
    v4 = c.roll_back(1, "Back to the original", ADA)
    assert (v4.version, v4.kind, v4.restored_version, v4.based_on_version) == (4, "rollback", 1, 3)
    assert c.live.content == c.versions[1].content and c.versions[3].content.system_prompt == "Version three."
    assert sorted(c.versions) == [1, 2, 3, 4]
    names = [type(e).__name__ for e in c.collect_events()]
    assert names == [
        "Created",
        "DraftSaved",
        "DraftSaved",
        "DraftSaved",
        "VersionPublished",
        "DraftSaved",
        "VersionPublished",
        "RolledBack",
    ]
    with pytest.raises(NotFound) as missing:
        c.roll_back(9, "", ADA)
    assert missing.value.code == "version_not_found"
    with pytest.raises(Conflict) as live:
        c.roll_back(4, "", ADA)
    assert live.value.code == "already_live"
    with pytest.raises(NotFound) as gone:
        c.publish("d1", "", None, ADA)
    assert gone.value.code == "draft_not_found"
    c.discard_draft("d2", ADA)
    assert c.drafts == {}


def test_publishing_on_a_version_no_longer_live_is_a_conflict_saying_what_changed() -> None:
    c = config()
    c.save_draft("mine", {"persona": {"tone": "formal"}}, ADA)  # based on version 1
    c.save_draft("theirs", {"system_prompt": "Theirs.", "examples": []}, BOB)
    c.publish("theirs", "Bob's change", 1, BOB)
    with pytest.raises(VersionConflict) as err:
        c.publish("mine", "Ada's change", None, ADA)
    assert err.value.code == "version_conflict" and c.live_version == 2
    assert err.value.published_since == [
        {
            "version": 2,
            "kind": "published",
            "by": str(BOB),
            "note": "Bob's change",
            "changed_fields": ["system_prompt", "examples"],
        }
    ]
    assert c.publish("mine", "Ada's change, reviewed", 2, ADA).version == 3  # after review, based on the live one


def test_diff_compares_each_field_with_a_line_diff_of_the_prompt_and_examples_by_id() -> None:
    old = PromptContent(
        "Line one.\nLine two.",
        [{"id": "a", "user": "u1", "assistant": "a1"}, {"id": "b", "user": "u2", "assistant": "a2"}],
    )
    new = old.with_changes(
        {
            "system_prompt": "Line one.\nLine 2.",
            "examples": [
                {"id": "b", "user": "u2", "assistant": "better"},
                {"id": "c", "user": "u3", "assistant": "a3"},
            ],
            "persona": {"tone": "warm"},
        }
    )
    d = diff(old, new)
    assert d["system_prompt"] == {
        "changed": True,
        "unified_diff": "--- from\n+++ to\n@@ -1,2 +1,2 @@\n Line one.\n-Line two.\n+Line 2.",
    }
    assert d["examples"] == {"changed": True, "added": ["c"], "removed": ["a"], "modified": ["b"], "reordered": False}
    assert d["persona"] == {"changed": True, "keys": {"tone": {"from": DEFAULT_PERSONA["tone"], "to": "warm"}}}
    assert d["topic_rules"]["changed"] is False and d["escalation"] == {"changed": False, "keys": {}}
    assert new.changed_fields(old) == ["system_prompt", "examples", "persona"]


# The self-assessment instruction that ends every system block (stripped from the reply by commands/ai/trailer.py).
ASSESSMENT = (
    "After your reply, on its own last line, add an assessment the customer never sees, exactly in this form: "
    "<confidence>0.85</confidence><topic>Billing</topic>\n"
    "confidence: a number from 0 to 1, how sure you are that your reply is correct and fully answers the customer "
    "from the help articles above (low when you are guessing or the articles do not cover it). "
    "topic: the one that fits the conversation best, from: {topics}."
)
DEFAULT_TOPIC_NAMES = (
    "Legal & Compliance, Refunds & Cancellation, Passwords & Auth, Billing, API & Integrations, Onboarding, Other"
)


def test_the_exact_messages_each_provider_receives_for_a_published_version() -> None:
    ws = workspace()
    content = PromptContent(
        "You are {workspace}'s assistant.",
        [{"id": "x", "user": "Do you have an API?", "assistant": "Yes: see Settings > API."}],
        persona={
            **DEFAULT_PERSONA,
            "language": "fr",
            "max_response_words": 80,
            "max_response_tokens": 300,
            "primary_model": "claude-haiku-4-5",
            "fallback_model": "gpt-4o",
        },
    )
    prep = prepare(ws, LivePrompt(7, content))
    assert prep.prompt_version == 7 and prep.settings.max_response_tokens == 300
    # the models are the workspace settings' (ADR 0040): the version's persona names do not override them
    settings = ws.settings
    assert (prep.settings.primary_model, prep.settings.fallback_model) == (
        settings.primary_model,
        settings.fallback_model,
    )
    assert prep.settings.primary_model != "claude-haiku-4-5"
    system = (
        "You are Acme's assistant.\n\n"
        "Tone: friendly, clear and professional. Reply in this language: fr. Keep each reply under 80 words.\n\n"
        "Help articles you may rely on:\n## Reset your password\nClick Forgot password.\n\n"
        + ASSESSMENT.format(topics=DEFAULT_TOPIC_NAMES)
    )
    assert prep.system == system
    history = [Turn("user", "Can I reset my password?")]
    blocks, messages = anthropic_params(prep.system, prep.examples, history)
    assert blocks == [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    assert messages == [
        {"role": "user", "content": "Do you have an API?"},
        {"role": "assistant", "content": "Yes: see Settings > API."},
        {"role": "user", "content": "Can I reset my password?"},
    ]
    assert openai_messages(prep.system, prep.examples, history) == [{"role": "system", "content": system}, *messages]


def test_the_self_assessment_lists_the_topics_of_the_published_version() -> None:
    content = PromptContent("You help {workspace}.", [], topic_rules={"Shipping": ["parcel"], "Returns": ["return"]})
    prep = prepare(workspace(), LivePrompt(3, content))
    assert prep.system.endswith("\n\n" + ASSESSMENT.format(topics="Shipping, Returns, Other"))


def test_without_a_published_version_the_workspace_prompt_serves_unchanged() -> None:
    ws = workspace()
    prep = prepare(ws, None)
    assert prep.prompt_version == ws.prompt_version == 1
    assert (
        prep.system == "You help Acme customers.\n\nHelp articles you may rely on:\n## Reset your password\n"
        "Click Forgot password.\n\n" + ASSESSMENT.format(topics=DEFAULT_TOPIC_NAMES)
    )
    blocks, messages = anthropic_params(prep.system, prep.examples, [Turn("user", "hi")])
    assert blocks[0]["cache_control"] == {"type": "ephemeral"}
    assert messages == [
        {"role": "user", "content": "invoice?"},
        {"role": "assistant", "content": "Settings > Billing."},
        {"role": "user", "content": "hi"},
    ]


def test_with_the_approval_gate_a_draft_needs_a_second_admin_and_any_change_needs_a_new_approval() -> None:
    c = config()
    c.save_draft("d", {"system_prompt": "Gated."}, ADA)
    with pytest.raises(Conflict) as gated:
        c.publish("d", "", None, ADA, approval_required=True)
    assert gated.value.code == "approval_required"
    with pytest.raises(Conflict) as own:
        c.review_draft("d", True, "", ADA)
    assert own.value.code == "own_draft"
    assert c.review_draft("d", False, "Too terse.", BOB).review == "rejected"
    c.save_draft("d", {"system_prompt": "Gated, and kind."}, ADA)
    assert (c.drafts["d"].review, c.drafts["d"].reviewed_by) == ("pending", None)
    assert c.review_draft("d", True, "Good.", BOB).review == "approved"
    with pytest.raises(Conflict) as twice:
        c.review_draft("d", True, "", BOB)
    assert twice.value.code == "already_approved"
    v2 = c.publish("d", "", None, ADA, approval_required=True)
    assert v2.approved_by == BOB and v2.by == ADA
    names = [type(e).__name__ for e in c.collect_events()]
    assert names == ["Created", "DraftSaved", "DraftRejected", "DraftSaved", "DraftApproved", "VersionPublished"]
