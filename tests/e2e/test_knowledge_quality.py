"""Retrieval quality: the labelled question set (English and Spanish) through the real read model, hit@1 >= 90 %."""

from __future__ import annotations

from chatassist.bootstrap import Container
from chatassist.knowledge_cli import EVAL_SET, evaluate


def test_the_labelled_questions_find_their_article_first(container: Container) -> None:
    # Given the labelled set's articles imported into a new workspace
    assert container.knowledge is not None
    # When every question is asked of the knowledge read model
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, EVAL_SET)
    # I expect the labelled article first for at least 90 % of them, in each language
    assert result["questions"] >= 40
    assert set(result["by_language"]) == {"en", "es"}
    assert result["hit_at_1"] >= 0.9, result
    assert all(share >= 0.85 for share in result["by_language"].values()), result
