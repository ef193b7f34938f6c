"""The ranked postings retrieval picks its candidates from (ADR 0066): a row per lexeme of a published chunk with the
lexeme's ts_rank there, kept in step with the chunks through every article change, summing to the ts_rank of an OR of
lexemes; and a common word's best chunks, not any of them, are ranked."""

from __future__ import annotations

import uuid

import httpx

from chatassist.bootstrap import Container
from commands.manage_articles import cmd as articles
from projections.knowledge.view import BUDGET, WEIGHTS, KnowledgeView
from tests.support.accounts import sign_up

# Every chunk's postings against its tsvector: the lexemes, the published flag and each lexeme's ts_rank
MISMATCHES = """
SELECT c.article_id, c.chunk, l.lexeme, p.lexeme AS posted, p.published, p.rank,
       ts_rank(%(w)s::float4[], c.tsv, quote_literal(l.lexeme)::tsquery, 1) AS expected
FROM knowledge_v1_chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS l(lexeme)
FULL JOIN knowledge_v1_postings p ON p.article_id = c.article_id AND p.chunk = c.chunk AND p.lexeme = l.lexeme
WHERE coalesce(c.workspace_id, p.workspace_id) = %(ws)s
  AND (p.lexeme IS NULL OR c.article_id IS NULL OR p.published <> c.published
       OR abs(p.rank - ts_rank(%(w)s::float4[], c.tsv, quote_literal(l.lexeme)::tsquery, 1)) > 1e-7)
"""


def mismatches(view: KnowledgeView, workspace_id: uuid.UUID) -> list[dict[str, object]]:
    return view.query(MISMATCHES, {"ws": workspace_id, "w": WEIGHTS})


def test_the_postings_follow_every_change_of_an_article(offline_client: httpx.Client, container: Container) -> None:
    # Given a workspace with two articles written by its admin
    view = container.knowledge
    assert view is not None
    admin, _ = sign_up(offline_client)
    ws, by = uuid.UUID(admin.workspace_id), uuid.UUID(admin.account_id)
    app = container.app
    sso = articles.create(
        app,
        articles.CreateArticle(ws, by, "Okta single sign-on", "# Okta\n\nOpen Settings > Security and paste the "
                               "metadata URL.\n\n## Troubleshooting\n\nCheck the clock of the identity provider.",
                               tags=["sso"]),
    )  # fmt: skip
    export = articles.create(
        app, articles.CreateArticle(ws, by, "Project tarballs", "Pack every project as a tarball from Settings.")
    )
    container.wait_for_projections()
    # I expect a posting for every lexeme of every chunk, with its ts_rank in the chunk
    count = view.query("SELECT count(*) AS n FROM knowledge_v1_postings WHERE article_id = %(id)s", {"id": sso.id})
    assert count[0]["n"] > 10
    assert mismatches(view, ws) == []
    # and the ts_rank of an OR of lexemes is the sum of their postings' ranks divided by their number
    sums = view.query(
        "SELECT c.chunk, ts_rank(%(w)s::float4[], c.tsv, 'okta | clock | nowher'::tsquery, 1) AS rank,"
        " (SELECT sum(p.rank) / 3 FROM knowledge_v1_postings p WHERE p.article_id = c.article_id AND p.chunk = c.chunk"
        "  AND p.lexeme IN ('okta', 'clock', 'nowher')) AS summed"
        " FROM knowledge_v1_chunks c WHERE c.article_id = %(id)s ORDER BY c.chunk",
        {"id": sso.id, "w": WEIGHTS},
    )
    assert len(sums) >= 2 and all(r["rank"] > 0 for r in sums)
    assert all(abs(r["rank"] - r["summed"]) <= 1e-6 * r["rank"] for r in sums), sums
    # When one is edited, the other unpublished, then published again, then deleted
    articles.change(
        app, articles.ChangeArticle(ws, by, sso.id, "edit", {"body": "Paste the SAML metadata of Azure instead."})
    )
    articles.change(app, articles.ChangeArticle(ws, by, export.id, "unpublish"))
    container.wait_for_projections()
    # I expect the postings of the new text only, and the unpublished article's not searched
    assert mismatches(view, ws) == []
    assert str(sso.id) not in [h.article_id for h in view.search(ws, "troubleshooting clock")]
    assert [h.title for h in view.search(ws, "azure metadata")][:1] == ["Okta single sign-on"]
    assert view.search(ws, "tarball") == []
    articles.change(app, articles.ChangeArticle(ws, by, export.id, "publish"))
    container.wait_for_projections()
    assert mismatches(view, ws) == []
    assert [h.title for h in view.search(ws, "tarball")] == ["Project tarballs"]
    articles.change(app, articles.ChangeArticle(ws, by, export.id, "delete"))
    container.wait_for_projections()
    # and no posting left of the deleted article
    left = view.query("SELECT count(*) AS n FROM knowledge_v1_postings WHERE article_id = %(id)s", {"id": export.id})
    assert left[0]["n"] == 0
    assert mismatches(view, ws) == []


def test_a_common_word_ranks_its_best_chunks(offline_client: httpx.Client, container: Container) -> None:
    # Given more articles holding a word than a question may rank, one of them about it (in its title)
    view = container.knowledge
    assert view is not None
    admin, _ = sign_up(offline_client)
    ws, by = uuid.UUID(admin.workspace_id), uuid.UUID(admin.account_id)
    for n in range(BUDGET + 20):
        body = f"Note {n}: the dashboard shows the projects of your team; open it from the menu."
        articles.create(container.app, articles.CreateArticle(ws, by, f"Team note {n}", body))
    about = articles.create(
        container.app,
        articles.CreateArticle(ws, by, "The dashboard", "The dashboard lists projects; pin the dashboard you use."),
    )
    container.wait_for_projections()
    # When a visitor asks with that word only
    hits = view.search(ws, "where is the dashboard?")
    # I expect the article about it first: the word's best-ranked chunks were the candidates, not any 300 of them
    assert hits and hits[0].article_id == str(about.id)
