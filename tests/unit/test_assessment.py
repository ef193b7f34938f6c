"""The model's self-assessment: parsing its trailer, stripping it from a stream split anywhere, and the combined
confidence formula and topic precedence (domain/assessment.py, commands/ai/trailer.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from commands.ai.trailer import MAX_TAG_CHARS, TrailerFilter
from commands.application import ChatAssistApp
from domain.assessment import (
    COMBINED,
    RULES,
    SelfAssessment,
    assess,
    combined_topic,
    known_topic,
    parse_self_assessment,
)
from domain.conversation import Conversation
from domain.retrieval import Document

DOCS = [Document("pw", "reset password forgot", "Use Forgot password.", "Reset")]
ANSWER = "Click *Forgot password* on the sign-in page; the link is valid for 24 hours."
TRAILER = "<confidence>0.82</confidence><topic>Passwords & Auth</topic>"


def stream(pieces: list[str]) -> tuple[str, TrailerFilter]:
    """Feed ``pieces`` through a filter as deltas; the visible text and the filter."""
    trailer = TrailerFilter()
    shown = "".join(trailer.feed(p) for p in pieces)
    trailer.close()
    return shown, trailer


def test_the_trailer_is_never_shown_wherever_the_stream_splits_it() -> None:
    # Given a reply followed by a blank line and its trailer
    raw = f"{ANSWER}\n\n{TRAILER}"
    # When it arrives split in two at every character, and in three at many pairs of places
    splits = [[raw[:i], raw[i:]] for i in range(len(raw) + 1)]
    splits += [[raw[:i], raw[i:j], raw[j:]] for i in range(0, len(raw), 7) for j in range(i, len(raw), 5)]
    splits.append(list(raw))  # one character per delta
    for pieces in splits:
        shown, trailer = stream(pieces)
        # Then the visitor sees exactly the answer, and the assessment is read whole
        assert shown == ANSWER, pieces
        assert trailer.assessment == SelfAssessment(0.82, "Passwords & Auth"), pieces


def test_text_that_only_looks_like_a_tag_is_shown_and_a_runaway_tag_is_released() -> None:
    assert stream(["Use a <b>bold</b> tag or a < sign; 3 <", " 4 and <conf", "ig> files."])[0] == (
        "Use a <b>bold</b> tag or a < sign; 3 < 4 and <config> files."
    )
    runaway = "<topic>" + "x" * (MAX_TAG_CHARS + 10)
    shown, trailer = stream(["Before ", runaway[:50], runaway[50:], " after"])
    assert shown == "Before " + runaway + " after" and trailer.assessment == SelfAssessment()


def test_tags_in_the_middle_are_removed_and_an_unfinished_trailer_is_withheld() -> None:
    shown, trailer = stream(["Yes.<topic>Billing</topic> See ", "Settings.\n<confidence>0.", "4"])
    assert shown == "Yes. See Settings." and trailer.assessment == SelfAssessment(None, "Billing")


@pytest.mark.parametrize(
    ("trailer", "expected"),
    [
        ("<confidence>0.82</confidence>", SelfAssessment(0.82, None)),
        ("<CONFIDENCE> 1 </CONFIDENCE><topic> Billing  </topic>", SelfAssessment(1.0, "Billing")),
        ("<confidence>.3</confidence>", SelfAssessment(0.3, None)),
        ("<confidence>65%</confidence>", SelfAssessment(0.65, None)),
        ("<confidence>high</confidence>", SelfAssessment(None, None)),
        ("<confidence>1.7</confidence>", SelfAssessment(None, None)),
        ("<confidence>150%</confidence>", SelfAssessment(None, None)),
        ("<confidence>0.4 or 0.6</confidence>", SelfAssessment(None, None)),
        ("<confidence>-0.2</confidence>", SelfAssessment(None, None)),
        ("<confidence>0.9", SelfAssessment(None, None)),
        ("", SelfAssessment(None, None)),
    ],
)
def test_a_self_assessment_is_a_number_from_0_to_1_or_it_is_garbled(trailer: str, expected: SelfAssessment) -> None:
    assert parse_self_assessment(trailer) == expected


def test_with_a_self_assessment_the_documented_combination_is_used_and_recorded_part_by_part() -> None:
    # Given a supported, unhedged answer the model rates 0.82: 0.5 * 0.82 + 0.3 * 1 + 0.2 * 1
    judged = assess("forgot password", "Use Forgot password.", DOCS, 0.82)
    assert (judged.final, judged.self_assessed, judged.retrieval, judged.hedging, judged.method) == (
        0.91,
        0.82,
        1.0,
        0.0,
        COMBINED,
    )
    # a low self-assessment on an unsupported, hedged answer: 0.5 * 0.1 + 0 + 0
    low = assess("quantum teleport pricing", "I'm not sure it does that.", DOCS, 0.1)
    assert (low.final, low.retrieval, low.hedging) == (0.05, 0.0, 1.0)
    assert low.to_dict() == {
        "final": 0.05,
        "self_assessed": 0.1,
        "retrieval": 0.0,
        "hedging": 1.0,
        "method": "combined",
    }


def test_without_a_usable_self_assessment_the_rules_formula_serves() -> None:
    # missing, or out of range (a caller that skipped parsing), falls back to 0.6 * support + 0.4 * (1 - hedging)
    for given in (None, 1.5, -0.1):
        judged = assess("forgot password", "I'm not sure, let me bring in a person.", DOCS, given)
        assert (judged.final, judged.self_assessed, judged.method) == (0.6, None, RULES)
    assert assess("quantum teleport pricing", "It costs 5.", DOCS).final == 0.4


def test_the_final_confidence_stays_within_0_and_1() -> None:
    for given in (0.0, 1.0):
        for answer in ("Use Forgot password.", "I don't know."):
            for question in ("forgot password", "zebra"):
                assert 0.0 <= assess(question, answer, DOCS, given).final <= 1.0
    assert assess("forgot password", "Use Forgot password.", DOCS, 1.0).final == 1.0
    assert assess("zebra", "I don't know.", DOCS, 0.0).final == 0.0


def test_the_topic_rules_win_and_the_model_fills_in_only_a_topic_of_the_workspace() -> None:
    names = ["Billing", "Passwords & Auth"]
    assert known_topic("billing", names) == "Billing" and known_topic("other", names) == "Other"
    assert known_topic("Quantum physics", names) is None and known_topic(None, names) is None
    assert combined_topic("Passwords & Auth", "Billing") == "Passwords & Auth"  # a rule matched: it wins
    assert combined_topic("Other", "Billing") == "Billing"  # no rule matched: the model's
    assert combined_topic("Other", None) == "Other"


def test_replies_stored_before_the_self_assessment_still_load_with_no_parts() -> None:
    # Given a reply event stored as version 1 wrote it: no assessment, no class_version
    app = ChatAssistApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    conversation = Conversation(uuid.uuid4(), "widget", {})
    conversation.receive("m1", "hi")
    conversation.reply("r1", "m1", "Hello!", confidence=0.5, topic="Other", provider="p", model="m", prompt_version=1)
    stored = app.mapper.to_stored_event(conversation.collect_events()[-1])
    state = json.loads(stored.state)
    assert state.pop("class_version") == 3 and state.pop("assessment") is None and state.pop("knowledge") is None
    old = type(stored)(stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode())
    # When it is read back
    event = app.mapper.to_domain_event(old)
    # Then it is upcast: the reply is whole and its assessment is None
    assert isinstance(event, Conversation.AssistantReplied)
    assert (event.personal, event.confidence, event.assessment, event.knowledge) == (
        {"text": "Hello!"},
        0.5,
        None,
        None,
    )


def test_spaces_stream_at_once_and_only_line_breaks_wait_for_more_text() -> None:
    trailer = TrailerFilter()
    assert trailer.feed("Broken words ") == "Broken words "
    assert trailer.feed("here.\n") == "here."
    assert trailer.feed("\n") == ""
    assert trailer.feed("More.  \n <conf") == "\n\nMore.  "
    assert trailer.feed("idence>0.7</confidence>") == ""
    trailer.close()
    assert trailer.assessment == SelfAssessment(0.7, None)
