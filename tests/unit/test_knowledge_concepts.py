"""The support-concept lexicon (projections/knowledge/concepts.py, ADR 0060): which concepts a question names."""

from __future__ import annotations

import json
from pathlib import Path

from projections.knowledge import concepts
from projections.knowledge.concepts import CONCEPTS, expansions

DATA = Path(__file__).resolve().parents[2] / "chatassist" / "data"


def named(question: str) -> list[str]:
    terms = set(expansions(question))
    return [c.name for c in CONCEPTS if c.terms in terms]


def test_a_visitors_word_names_its_concept_in_five_languages() -> None:
    # Given questions in visitors' words, with and without accents
    # When the concepts they name are looked up
    # I expect the concept each word stands for
    assert named("how do I quit?") == ["cancel"]
    assert named("Quiero darme de baja") == ["cancel"]
    assert named("je veux résilier") == ["cancel"]
    assert named("Abo beenden bitte") == ["cancel"]
    assert named("bekomme ich mein Geld zurück") == ["refund"]
    assert named("o sistema está fora do ar?") == ["status"]
    assert named("can't log in") == ["password"]


def test_an_ambiguous_word_names_a_concept_only_in_its_phrase() -> None:
    # Given "down" as an outage and as a smaller plan
    # When the concepts are looked up
    # I expect the outage only where the phrase says so
    assert named("is the site down?") == ["status"]
    assert named("can i go down to a smaller plan") == ["plan"]


def test_a_question_naming_no_concept_expands_to_nothing() -> None:
    # Given a question about something no concept covers
    # When the concepts are looked up
    # I expect no expansion: the query runs on the visitor's words alone
    assert expansions("do you sell gift cards") == []
    assert expansions("") == []


def test_french_elisions_and_negations_without_ne_name_their_concept() -> None:
    # Given French as visitors write it: an elided article before the word, a negation without its "ne"
    # When the concepts are looked up
    # I expect the word after the elision and the spoken negation to name their concept
    assert named("vous me rendez l'argent ?") == ["refund"]
    assert named("je veux plus payer") == ["cancel"]
    assert named("ça marche pas") == ["status"]
    # while an English contraction stays one word
    assert named("i can't log in") == ["password"]


def test_a_narrower_concept_stands_for_the_broader_one_it_overrides() -> None:
    # Given a sign-in question that names the identity provider
    # When the concepts are looked up
    # I expect single sign-on alone, not the password concept "log in" names elsewhere
    assert named("can we log in with okta") == ["sso"]
    assert named("can we log in") == ["password"]


def test_the_compiled_triggers_answer_as_each_trigger_does() -> None:
    """``expansions`` searches one compiled expression per concept; it must name the concepts that checking every
    trigger one by one (``_matches``) names, on every labelled question and on each trigger in and around words."""
    questions = [
        q["question"]
        for name in ("eval", "heldout", "visitors", "visitors2", "visitors3")
        for q in json.loads((DATA / f"knowledge_{name}.json").read_text())["questions"]
    ]
    for concept in CONCEPTS:
        for trigger in concept.triggers:
            word = trigger.rstrip("*")
            questions += [word, f"how do i {word} please", f"{word}ing now", f"x{word}", f"{word}-ish"]

    def one_by_one(question: str) -> list[str]:
        text = concepts.normalize(question)
        words, padded = text.split(), f" {text} "
        named = [c for c in CONCEPTS if any(concepts._matches(t, words, padded) for t in c.triggers)]
        overridden = {name for c in named for name in c.overrides}
        return [c.terms for c in named if c.name not in overridden]

    assert len(questions) > 2_000
    assert [expansions(q) for q in questions] == [one_by_one(q) for q in questions]
