"""The support-concept lexicon (projections/knowledge/concepts.py, ADR 0060): which concepts a question names."""

from __future__ import annotations

from projections.knowledge.concepts import CONCEPTS, expansions


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
