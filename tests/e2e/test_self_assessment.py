"""The model's self-assessment over the real server and the real SDKs against the HTTP fake: the trailer never
reaches the visitor or the stored reply, and the confidence is combined and recorded part by part."""

from __future__ import annotations

import httpx

from chatassist.bootstrap import Container
from commands.create_workspace.cmd import WorkspaceCreated
from tests.conftest import chat, event_names, stored_events
from tests.fakes.llm_server import FakeLLMServer, Script, split_text
from tests.support.sse import names
from tests.support.visitors import widget_headers


def text_of(events: list[tuple[str, dict]]) -> str:  # type: ignore[type-arg]
    return "".join(d["text"] for n, d in events if n == "delta")


def splits_inside(text: str, chunks: int, tag: str) -> bool:
    """Whether splitting ``text`` into ``chunks`` pieces cuts through ``tag``."""
    start = text.index(tag)
    cuts, at = [], 0
    for piece in split_text(text, chunks)[:-1]:
        at += len(piece)
        cuts.append(at)
    return any(start < cut < start + len(tag) for cut in cuts)


def combined(parts: dict) -> float:  # type: ignore[type-arg]
    """The documented formula (docs/ai.md) over the recorded parts."""
    return round(0.5 * parts["self_assessed"] + 0.3 * parts["retrieval"] + 0.2 * (1 - parts["hedging"]), 3)


def test_a_trailer_split_across_chunks_is_stripped_and_combined_into_the_confidence(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Claude answers with a trailer that the stream cuts through (tag names and values split)
    answer = "You can change the widget colour under Settings, then Appearance."
    raw = f"{answer}\n\n<confidence>0.9</confidence><topic>onboarding</topic>"
    assert all(splits_inside(raw, 18, tag) for tag in ("<confidence>", "0.9", "</topic>"))
    fake_llm.enqueue("anthropic", Script(text=raw, chunks=18))
    # When a visitor asks something no topic rule knows
    events = chat(client, workspace.widget_key, "Can the chat bubble colour match our brand?")
    # Then the visitor's stream shows the answer and nothing of the trailer
    assert names(events) == ["start", "delta*", "done"]
    assert text_of(events) == answer
    assert all("<" not in d["text"] and "0.9" not in d["text"] for n, d in events if n == "delta")
    # and the model was asked for it in the system block
    system = fake_llm.requests_for("anthropic")[-1].json["system"][0]["text"]
    assert "<confidence>0.85</confidence><topic>Billing</topic>" in system and "Onboarding, Other." in system
    # and the stored reply is the answer, with the parts of its confidence beside it
    conversation_id = events[0][1]["conversation_id"]
    reply = stored_events(container, conversation_id)[-1]
    assert type(reply).__name__ == "AssistantReplied" and reply.personal["text"] == answer
    parts = reply.assessment
    assert (parts["self_assessed"], parts["method"], parts["hedging"]) == (0.9, "combined", 0.0)
    assert 0.0 <= parts["retrieval"] <= 1.0
    assert reply.confidence == parts["final"] == combined(parts) == events[-1][1]["confidence"]
    # and the topic: no rule matched, so the model's, in the workspace's spelling
    assert (parts["topic_by_rules"], parts["topic_by_model"]) == ("Other", "Onboarding")
    assert reply.topic == events[-1][1]["topic"] == "Onboarding"
    # and the transcript shows the stripped answer too
    container.wait_for_projections()
    transcript = client.get(
        f"/api/conversations/{conversation_id}", headers=widget_headers(workspace.widget_key, conversation_id)
    )
    assert transcript.json()["messages"][-1]["text"] == answer


def test_a_low_self_assessment_from_the_fallback_offers_a_person(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Claude refuses the key and GPT answers but rates itself 0.1, the trailer cut in the middle of the number
    answer = "The export should include every field you configured."
    raw = f"{answer}\n<confidence>0.1</confidence>"
    assert splits_inside(raw, 7, "<confidence>0.1</confidence>")
    fake_llm.enqueue("anthropic", Script(kind="status", status=401))
    fake_llm.enqueue("openai", Script(text=raw, chunks=7))
    # When a visitor asks something the help articles do not cover
    events = chat(client, workspace.widget_key, "Does the quarterly zebra export keep custom flamingo columns?")
    # Then the visitor sees the answer only, and is offered a person for low confidence
    done = events[-1][1]
    assert text_of(events) == answer and done["provider"] == "openai"
    assert done["escalation"]["rule"] == "low_confidence" and done["escalation"]["action"] == "offer"
    # and the store has the reply with its parts, then EscalationOffered with the score it compared
    conversation_id = events[0][1]["conversation_id"]
    assert event_names(container, conversation_id)[-2:] == ["AssistantReplied", "EscalationOffered"]
    reply, offered = stored_events(container, conversation_id)[-2:]
    assert reply.personal["text"] == answer
    assert reply.assessment["self_assessed"] == 0.1 and reply.assessment["method"] == "combined"
    assert reply.confidence == combined(reply.assessment) == done["confidence"] < 0.4
    assert offered.rule == "low_confidence" and offered.evidence["score"] == reply.confidence


def test_a_garbled_self_assessment_falls_back_to_the_rules_formula_and_is_still_hidden(
    client: httpx.Client, workspace: WorkspaceCreated, container: Container, fake_llm: FakeLLMServer
) -> None:
    # Given Claude writes a confidence that is not a number from 0 to 1
    answer = "Open Settings, then Security, and turn on two-factor authentication."
    fake_llm.enqueue("anthropic", Script(text=f"{answer}\n<confidence>very high</confidence>", chunks=5))
    events = chat(client, workspace.widget_key, "How do I turn on 2FA?")
    # Then the tag is hidden, and the confidence is the formula without a self-assessment
    assert text_of(events) == answer
    reply = stored_events(container, events[0][1]["conversation_id"])[-1]
    parts = reply.assessment
    assert (parts["self_assessed"], parts["method"], parts["topic_by_model"]) == (None, "rules", None)
    assert reply.confidence == round(0.6 * parts["retrieval"] + 0.4 * (1 - parts["hedging"]), 3)
    assert reply.topic == "Passwords & Auth"  # by the rules


def test_the_offline_answerer_keeps_its_own_formula(
    offline_client: httpx.Client, workspace: WorkspaceCreated, container: Container
) -> None:
    events = chat(offline_client, workspace.widget_key, "How do I reset my password?")
    reply = stored_events(container, events[0][1]["conversation_id"])[-1]
    assert reply.provider == "offline" and reply.assessment["method"] == "rules"
    assert reply.assessment["self_assessed"] is None and "<confidence>" not in reply.personal["text"]
    assert reply.confidence == round(0.6 * reply.assessment["retrieval"] + 0.4 * (1 - reply.assessment["hedging"]), 3)
