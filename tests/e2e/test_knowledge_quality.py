"""Retrieval quality: the labelled question sets through the real read model (docs/knowledge.md, "Quality").

- ``knowledge_eval.json``: the questions written with the articles (``original``, English and Spanish) find their
  article first at least 90 % of the time; the ``blind`` ones (written later from the article titles only) and the
  ``dev`` ones (lower case, typos, missing accents, five languages: the set retrieval was tuned on) may not fall
  below what was measured.
- ``knowledge_heldout.json``: 67 visitor-phrased questions in English, Spanish, French, German and Portuguese on the
  built-in articles, a docs site's pages and translated articles, written before the tuning and never tuned on; it
  may not fall below what was measured once after it.
"""

from __future__ import annotations

from chatassist.bootstrap import Container
from chatassist.knowledge_cli import EVAL_SET, HELDOUT_SET, evaluate
from commands.create_workspace import cmd as create_ws
from commands.import_knowledge import cmd as importer
from commands.import_knowledge import files

# Measured 2026-12-07 (ADR 0045): regression guards at the measured level, not targets.
BLIND_FLOOR = 0.5  # 16 of 30 (53.3 %)
DEV_FLOOR = 0.9  # 33 of 33 (tuned on)
HELDOUT_FLOOR = 0.8  # 56 of 67 (83.6 %)
HELDOUT_LANGUAGE_FLOOR = 0.75  # de 7 of 9, en 24 of 31 (77.4 %), es 8 of 9, fr 8 of 9, pt 9 of 9


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
