"""Retrieval quality: the labelled question sets through the real read model (docs/knowledge.md, "Quality").

- ``knowledge_eval.json``: the questions written with the articles (``original``, English and Spanish) find their
  article first at least 90 % of the time; the ``blind`` ones (written later from the article titles only) and the
  ``dev`` ones (lower case, typos, missing accents, five languages: the set retrieval was tuned on) may not fall
  below what was measured.
- ``knowledge_heldout.json``: 67 visitor-phrased questions in English, Spanish, French, German and Portuguese on the
  built-in articles, a docs site's pages and translated articles, written before the tuning and never tuned on; it
  may not fall below what was measured once after it.
- ``knowledge_visitors.json``, ``knowledge_visitors2.json`` and ``knowledge_visitors3.json``: paraphrases in five
  languages, in words other than the articles' titles, each set written and committed before the retrieval change it
  first measured; none may fall below what was measured.
"""

from __future__ import annotations

from chatassist.bootstrap import Container
from chatassist.knowledge_cli import EVAL_SET, HELDOUT_SET, VISITORS2_SET, VISITORS3_SET, VISITORS_SET, evaluate
from commands.create_workspace import cmd as create_ws
from commands.import_knowledge import cmd as importer
from commands.import_knowledge import files

# Measured 2026-12-08, session 11 (ADR 0067; ADR 0057 before it): regression guards a little under the measured level
# (a tie between two articles is broken by their ids, which change with each new workspace), not targets.
BLIND_FLOOR = 0.85  # 27 of 30 (90 %; 83.3 % after ADR 0057, 73.3 % after ADR 0060, 53.3 % before it)
DEV_FLOOR = 0.95  # 33 of 33 (tuned on)
PROBES_FLOOR = 0.95  # 18 of 18 (tuned on)
HELDOUT_FLOOR = 0.95  # 66 of 67 (98.5 %; 94.0 % after ADR 0060)
HELDOUT_LANGUAGE_FLOOR = 0.95  # de, es, fr, pt 9 of 9, en 30 of 31 (96.8 %)
VISITORS_FLOOR = 0.94  # 56 of 57 (98.2 %; 86.0 % after ADR 0057, 73.7 % after ADR 0060, 47.4 % before it)
VISITORS_LANGUAGE_FLOOR = 0.85  # de 8 of 8, en 22 of 23, es 9 of 9, fr 9 of 9, pt 8 of 8
# visitors2: 100 questions written blind to the lexicon and committed before measuring (56 % then)
VISITORS2_FLOOR = 0.9  # 94 of 100 (82 after ADR 0057)
VISITORS2_LANGUAGE_FLOOR = 0.85  # en 20, fr 19, de 19, es 18, pt 18 of 20
# visitors3: 100 questions written blind to the retrieval code and the other sets, committed before measuring (88 %)
VISITORS3_FLOOR = 0.94  # 98 of 100
VISITORS3_LANGUAGE_FLOOR = 0.85  # en, fr, de, pt 20, es 18 of 20


def test_the_labelled_questions_find_their_article_first(container: Container) -> None:
    # Given the labelled set's articles imported into a new workspace
    assert container.knowledge is not None
    # When every question is asked of the knowledge read model
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, EVAL_SET)
    # I expect the labelled article first for at least 90 % of the original questions, in each language
    assert result["questions"] >= 100
    assert set(result["by_language"]) == {"en", "es", "fr", "de", "pt"}
    assert result["by_set"]["original"] >= 0.9, result
    assert all(share >= 0.85 for share in result["by_set_language"]["original"].values()), result
    # and the blind and dev questions no worse than measured
    assert result["by_set"]["blind"] >= BLIND_FLOOR, result
    assert result["by_set"]["dev"] >= DEV_FLOOR, result
    assert result["by_set"]["probes"] >= PROBES_FLOOR, result


def test_the_held_out_questions_find_their_article_first(container: Container) -> None:
    # Given the built-in articles, a docs site's pages and translated articles in a new workspace
    assert container.knowledge is not None
    # When every held-out question is asked of the knowledge read model
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, HELDOUT_SET)
    # I expect the labelled article first as often as measured, overall and in each of the five languages
    assert result["questions"] >= 60
    assert set(result["by_language"]) == {"en", "es", "fr", "de", "pt"}
    assert result["hit_at_1"] >= HELDOUT_FLOOR, result
    assert all(share >= HELDOUT_LANGUAGE_FLOOR for share in result["by_language"].values()), result


def test_the_visitors_paraphrases_find_their_article_first(container: Container) -> None:
    # Given the held-out set's articles in a new workspace
    assert container.knowledge is not None
    # When every paraphrase ("quit" for cancel, "money back" for refund, "down" for an outage) is asked
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, VISITORS_SET)
    # I expect the labelled article first as often as measured, overall and in each of the five languages
    assert result["questions"] >= 50
    assert set(result["by_language"]) == {"en", "es", "fr", "de", "pt"}
    assert result["hit_at_1"] >= VISITORS_FLOOR, result
    assert all(share >= VISITORS_LANGUAGE_FLOOR for share in result["by_language"].values()), result


def test_the_second_visitors_set_finds_its_article_first(container: Container) -> None:
    # Given the same articles in a new workspace
    assert container.knowledge is not None
    # When each of visitors2's 100 questions (20 a language: typos, slang, the problem described rather than named,
    # questions on an article that exists only in another language) is asked
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, VISITORS2_SET)
    # I expect the labelled article first as often as measured, overall and in each of the five languages
    assert result["questions"] == 100
    assert result["by_language"].keys() == {"en", "es", "fr", "de", "pt"}
    assert result["hit_at_1"] >= VISITORS2_FLOOR, result
    assert all(share >= VISITORS2_LANGUAGE_FLOOR for share in result["by_language"].values()), result


def test_the_third_visitors_set_finds_its_article_first(container: Container) -> None:
    # Given the same articles in a new workspace
    assert container.knowledge is not None
    # When each of visitors3's 100 questions (20 a language, written from the articles only: local words such as
    # "nota fiscal" or "planilha", the problem described, questions on an article that exists only in English) is asked
    result = evaluate(container.app, container.knowledge.search, container.wait_for_projections, VISITORS3_SET)
    # I expect the labelled article first at least 90 % of the time, as measured, overall and in each language
    assert result["questions"] == 100
    assert result["by_language"].keys() == {"en", "es", "fr", "de", "pt"}
    assert result["hit_at_1"] >= VISITORS3_FLOOR, result
    assert all(share >= VISITORS3_LANGUAGE_FLOOR for share in result["by_language"].values()), result


def test_a_question_in_other_words_finds_its_article_through_a_concept_but_not_full_support(
    container: Container,
) -> None:
    # Given an article on cancelling and one on the service status, in a new workspace
    assert container.knowledge is not None
    app = container.app
    workspace = create_ws.execute(app, create_ws.CreateWorkspace("Concepts", knowledge=[], examples=[]))
    cancel = "Cancel your subscription"
    status = "Service status"
    for title, body in [
        (cancel, "Admins cancel under Settings > Billing. Your data stays until the end of the paid period."),
        (status, "Incidents and outages are posted on our status page as soon as we know."),
    ]:
        doc = files.Document(title, title, body, None, files.digest(body))
        importer.execute(app, importer.ImportKnowledge(workspace.workspace_id, [doc], "upload", None, "en"))
    container.wait_for_projections()
    # When visitors ask with none of the articles' words: "quit", and "down" (an English stopword)
    quit_ = container.knowledge.search(workspace.workspace_id, "how do i quit")
    down = container.knowledge.search(workspace.workspace_id, "is it down")
    unrelated = container.knowledge.search(workspace.workspace_id, "do you sell gift cards")
    # I expect each article first through the concept its word names
    assert quit_ and quit_[0].title == cancel
    assert down and down[0].title == status
    # but the concept does not count as the visitor's words covered: support stays 0 (low confidence)
    assert quit_[0].support == 0
    assert down[0].support == 0
    # and a question naming no concept and no article word finds nothing
    assert unrelated == []


def test_a_question_without_accents_or_with_a_typo_finds_its_article(container: Container) -> None:
    # Given a Spanish article written with accents and an English one, in a new workspace
    assert container.knowledge is not None
    app = container.app
    workspace = create_ws.execute(app, create_ws.CreateWorkspace("Accents and typos", knowledge=[], examples=[]))
    spanish = "Verificación en dos pasos"
    english = "Reset your password"
    for language, title, body in [
        ("es", spanish, "Escanea el código QR con la aplicación y guarda los códigos de respaldo."),
        ("en", english, "Open the sign-in page and click Forgot password; we email you a reset link."),
    ]:
        doc = files.Document(title, title, body, None, files.digest(body))
        importer.execute(app, importer.ImportKnowledge(workspace.workspace_id, [doc], "upload", None, language))
    container.wait_for_projections()
    # When a visitor asks without the accents, and another misspells the one word that matters
    unaccented = container.knowledge.search(workspace.workspace_id, "no me llega el codigo")
    typo = container.knowledge.search(workspace.workspace_id, "i forgot my pasword")
    # I expect each article first: the accents are ignored on both sides, the typo matched on the nearest known word
    assert unaccented and unaccented[0].title == spanish
    assert unaccented[0].support > 0  # "codigo" is the article's "código"
    assert typo and typo[0].title == english
    # and the guessed word does not count as covered: "forgot" is, "pasword" is not (support 1 of 2)
    assert typo[0].support == 0.5
