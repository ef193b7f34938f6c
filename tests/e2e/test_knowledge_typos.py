"""The typo step of retrieval (ADR 0045, ADR 0063): an unknown question word is matched on the workspace's nearest
lexeme that is still in one of its chunks; the lexicon it searches keeps every lexeme the workspace has met."""

from __future__ import annotations

from chatassist.bootstrap import Container
from commands.create_workspace import cmd as create_ws
from commands.import_knowledge import cmd as importer
from commands.import_knowledge import files


def test_a_typo_is_matched_on_the_nearest_lexeme_still_in_an_article(container: Container) -> None:
    # Given an English article on the password and a German one on the "Passwort", in a new workspace
    view = container.knowledge
    assert view is not None
    app = container.app
    workspace = create_ws.execute(app, create_ws.CreateWorkspace("Typos", knowledge=[], examples=[]))
    english = "Reset your password"
    german = "Passwort ändern"

    def upload(key: str, title: str, body: str, language: str) -> None:
        doc = files.Document(key, title, body, None, files.digest(body))
        importer.execute(app, importer.ImportKnowledge(workspace.workspace_id, [doc], "upload", None, language))

    upload("en", english, "Open the sign-in page and click Forgot password; we email you a reset link.", "en")
    upload("de", german, "Öffne die Einstellungen und ändere dein Passwort.", "de")
    container.wait_for_projections()
    # When a visitor misspells the word: "paswort" is 0.7 similar to "passwort" and 0.42 to "password"
    before = view.search(workspace.workspace_id, "paswort")
    # I expect the German article, on the nearest lexeme
    assert before and before[0].title == german
    # When the German article is imported again without the word
    upload("de", "Konto ändern", "Öffne die Einstellungen und ändere die E-Mail-Adresse.", "de")
    container.wait_for_projections()
    after = view.search(workspace.workspace_id, "paswort")
    # I expect the English article: "passwort" is still in the lexicon but in no chunk, so the next nearest is taken
    assert after and after[0].title == english
    rows = view.query(
        "SELECT l.lexeme, t.chunks FROM knowledge_v1_lexicon l JOIN knowledge_v1_terms t USING (workspace_id, lexeme)"
        " WHERE l.workspace_id = %(ws)s AND l.lexeme IN ('passwort', 'password') ORDER BY 1",
        {"ws": workspace.workspace_id},
    )
    assert [(r["lexeme"], r["chunks"]) for r in rows] == [("password", 1), ("passwort", 0)]
    # and the guess does not count as the visitor's word covered (support 0: a low confidence)
    assert after[0].support == 0
