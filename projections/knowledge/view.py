"""The knowledge view's tables and its retrieval query: one SQL statement per chat turn (docs/knowledge.md)."""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar
from uuid import UUID

from domain.knowledge import KnowledgeHit, text_search_config
from projections._common import TrackedView
from projections.knowledge.concepts import expansions
from projections.knowledge.language import CLOSE, guess_language

log = logging.getLogger("chatassist.knowledge")
PREFIX = "knowledge_v1"
TOP_K = 6
BUDGET = 300  # chunks a query may rank at most (docs/knowledge.md, "Retrieval")
# of the D (text), C, B (section heading) and A (title, tags) parts of a chunk; the postings' ranks are computed with
# these when a chunk is written (projection.post, migration 0050): a change takes a rebuild of the knowledge view
WEIGHTS = [0.3, 0.4, 0.6, 1.0]
SHORTLIST = 10  # of those, ordered by ts_rank_cd (up to ~200 µs a chunk on long ones: docs/performance.md)
FUZZY = 0.4  # least trigram similarity of an unknown question word to the known lexeme it is matched on (ADR 0045)
EXPANSION = 0.5  # weight of a concept's terms (concepts.py) against the question's own words (ADR 0060)
# In the order (not in ``support``), ADR 0057: a concept of the question whose terms are in a chunk's title or tags
# counts as CONCEPT covered words, one only in its text as CONCEPT_BODY; a question word in the title or tags counts
# TITLE_WORD more than one in the text (a chunk *about* the concept or the words beats one that mentions them)
CONCEPT = 2.0
CONCEPT_BODY = 1.0
TITLE_WORD = 0.5
# ADR 0067, when the question's language is clear (language.py): the order's counts are divided by the question's
# length in that language (not in each chunk's own, which favoured any article sharing the question's language over
# the English one it is about); a chunk in the question's language that is about a concept the question names, when
# a chunk in another language is about it too (one article's translations), counts SAME_LANGUAGE covered words more;
# a chunk in a close language (Spanish for a Portuguese question: their words cross) CLOSE_LANGUAGE fewer; a tie
# goes to the question's language
SAME_LANGUAGE = 2.0
CLOSE_LANGUAGE = 1.0
WAIT_S = 5.0  # how long a turn waits for the view to reach the workspace version it loaded


# 1. The question, accents removed (unaccent: the chunks are indexed without theirs), parsed in each configuration the
#    workspace's articles use (knowledge_v1_workspaces.configs: the visitor's language is not known); each lexeme keeps
#    the position of the word it came from. Of those lexemes, the ones the workspace has (knowledge_v1_terms). A word
#    of at least 5 letters none of whose lexemes the workspace has (a typo, a compound, another form) is matched on the
#    workspace's known lexeme most similar to its longest lexeme, if their trigram similarity is at least %(fuzzy)s
#    (pg_trgm: a nearest-neighbour search of the GiST index on the workspace's lexicon, a table written once per new
#    lexeme so its index stays compact, joined to the counts for the lexemes still in a chunk; one probe per such word,
#    ADR 0063): "pasword" on "password", "cancle" on "cancel".
# 2. Rarest first, keep the lexemes while the chunks holding them add up to at most %(budget)s (always the rarest one):
#    common words are left out of the match, as BM25's idf would nearly ignore them, and the chunks to rank stay few.
# 3. Chunks holding any kept lexeme, from the ranked postings (knowledge_v1_postings, ADR 0066: a row per lexeme of a
#    published chunk with its ts_rank there; a btree on (workspace_id, lexeme, rank DESC), so a lexeme's best
#    %(budget)s chunks are an index range scan, never a bitmap of every chunk holding a common word): all of them
#    unless the rarest lexeme alone is in more than %(budget)s chunks, then its best %(budget)s. The best %(shortlist)s
#    by ts_rank (term frequencies: ts_rank of an OR of n lexemes is the sum of their postings' ranks over n, read
#    without decompressing a tsvector), ordered by ts_rank_cd (cover density: how close together the words are;
#    title and tags weigh most, then the section heading, then the text), the best %(k)s kept.
# 4. For those few: how much of the whole question (in the chunk's own configuration) each one covers (``support``:
#    a word matched only through step 1's similarity does not count); the one covering most first, then by rank.
# 5. Concepts (concepts.py, ADR 0060): the terms of each support concept the question names (``%(concepts)s``, one
#    string per concept: "quit" names the cancel concept, "is down" the status one) are parsed like the question,
#    kept rarest first within their own budget, and searched as a second tsquery (``xq``) whose rank counts
#    %(expansion)s of the question's own. In the order, each concept a chunk holds a term of counts like more
#    covered words (``named``: %(concept)s if a term is in its title or tags, %(concept_body)s if only in its text),
#    and the question's words in its title or tags %(title_word)s more (``titled``, ADR 0057); but the ``support``
#    returned (the confidence formula's) counts only the visitor's own words, each once: a chunk found only through a
#    concept stays low-confidence.
# 6. The question's language, when clear (``%(language)s``, ADR 0067): the order's counts divided by the question's
#    length in it, a chunk in it about a named concept preferred to that concept's chunks in other languages
#    (``%(same_language)s``), a chunk in a close language (``%(close)s``) less preferred (``%(close_language)s``).
SEARCH_SQL = f"""
WITH words AS (
    SELECT DISTINCT cfg, u.lexeme, p.pos FROM {PREFIX}_workspaces w, unnest(w.configs) AS cfg,
         unnest(to_tsvector(cfg, unaccent(%(q)s))) AS u, unnest(u.positions) AS p(pos)
    WHERE w.workspace_id = %(ws)s AND u.lexeme !~ '[\\\\'']'
),
content AS (
    SELECT coalesce(array_agg(pos), '{{}}') AS positions FROM (
        SELECT pos FROM words GROUP BY pos
        HAVING count(DISTINCT cfg) = (SELECT cardinality(configs) FROM {PREFIX}_workspaces WHERE workspace_id = %(ws)s)
    ) p
),
present AS (
    SELECT t.lexeme, t.chunks FROM {PREFIX}_terms t
    WHERE t.workspace_id = %(ws)s AND t.chunks > 0 AND t.lexeme IN (SELECT lexeme FROM words)
),
unknown AS (
    SELECT DISTINCT ON (w.pos) w.pos, w.lexeme FROM words w
    WHERE w.pos NOT IN (SELECT w2.pos FROM words w2 JOIN present p ON p.lexeme = w2.lexeme)
      AND length(w.lexeme) >= 5
    ORDER BY w.pos, length(w.lexeme) DESC, w.lexeme
),
fuzzy AS (
    SELECT n.lexeme, n.chunks FROM unknown u CROSS JOIN LATERAL (
        SELECT l.lexeme, t.chunks, l.lexeme <-> u.lexeme AS distance FROM {PREFIX}_lexicon l
        JOIN {PREFIX}_terms t ON t.workspace_id = l.workspace_id AND t.lexeme = l.lexeme
        WHERE l.workspace_id = %(ws)s AND t.chunks > 0
        ORDER BY l.lexeme <-> u.lexeme LIMIT 1
    ) n
    WHERE 1 - n.distance >= %(fuzzy)s
),
known AS (
    SELECT x.lexeme, x.chunks, sum(x.chunks) OVER (ORDER BY x.chunks, x.lexeme) AS running
    FROM (SELECT * FROM present UNION SELECT * FROM fuzzy) x
),
kept AS (
    SELECT lexeme FROM known WHERE running <= %(budget)s OR running = (SELECT min(running) FROM known)
),
q AS (
    SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS query, count(*) AS n FROM kept
),
concepts AS (
    SELECT DISTINCT g.ord, cfg, u.lexeme FROM {PREFIX}_workspaces w, unnest(w.configs) AS cfg,
         unnest(%(concepts)s::text[]) WITH ORDINALITY AS g(terms, ord), unnest(to_tsvector(cfg, unaccent(g.terms))) AS u
    WHERE w.workspace_id = %(ws)s AND u.lexeme !~ '[\\'']'
),
xknown AS (
    SELECT t.lexeme, t.chunks, sum(t.chunks) OVER (ORDER BY t.chunks, t.lexeme) AS running FROM {PREFIX}_terms t
    WHERE t.workspace_id = %(ws)s AND t.chunks > 0 AND t.lexeme IN (SELECT lexeme FROM concepts)
      AND t.lexeme NOT IN (SELECT lexeme FROM known)
),
xkept AS (
    SELECT lexeme FROM xknown WHERE running <= %(budget)s OR running = (SELECT min(running) FROM xknown)
),
xq AS (
    SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS query, count(*) AS n FROM xkept
),
found AS (
    SELECT p.article_id, p.chunk, p.rank / (SELECT n FROM q) AS part, 0.0::real AS xpart FROM kept k
    CROSS JOIN LATERAL (
        SELECT p.article_id, p.chunk, p.rank FROM {PREFIX}_postings p
        WHERE p.workspace_id = %(ws)s AND p.lexeme = k.lexeme AND p.published
        ORDER BY p.rank DESC, p.article_id, p.chunk LIMIT %(budget)s
    ) p
    UNION ALL
    SELECT p.article_id, p.chunk, 0.0::real, p.rank / (SELECT n FROM xq) FROM xkept k
    CROSS JOIN LATERAL (
        SELECT p.article_id, p.chunk, p.rank FROM {PREFIX}_postings p
        WHERE p.workspace_id = %(ws)s AND p.lexeme = k.lexeme AND p.published
        ORDER BY p.rank DESC, p.article_id, p.chunk LIMIT %(budget)s
    ) p
),
shortlist AS (
    SELECT c.article_id, c.chunk, c.config, c.tsv, c.heading, c.text FROM (
        SELECT f.article_id, f.chunk, sum(f.part)::real + %(expansion)s * sum(f.xpart)::real AS cheap FROM found f
        GROUP BY f.article_id, f.chunk
        ORDER BY cheap DESC, f.article_id, f.chunk
        LIMIT %(shortlist)s
    ) s
    JOIN {PREFIX}_chunks c ON c.article_id = s.article_id AND c.chunk = s.chunk
),
hits AS (
    SELECT c.*, coalesce(ts_rank_cd(%(weights)s::float4[], c.tsv, q.query, 1), 0)
             + %(expansion)s * coalesce(ts_rank_cd(%(weights)s::float4[], c.tsv, xq.query, 1), 0) AS score,
           (SELECT count(DISTINCT x.ord) FROM concepts x
            WHERE x.cfg = c.config AND x.lexeme = ANY(tsvector_to_array(c.tsv))) AS named,
           (SELECT count(DISTINCT x.ord) FROM concepts x
            WHERE x.cfg = c.config AND x.lexeme = ANY(tsvector_to_array(ts_filter(c.tsv, '{{a}}')))) AS titled
    FROM shortlist c, q, xq
    ORDER BY score DESC, c.article_id, c.chunk
    LIMIT %(k)s
)
SELECT (SELECT version FROM {PREFIX}_workspaces WHERE workspace_id = %(ws)s) AS ws_version,
       h.article_id, h.chunk, h.heading, h.text, h.score, a.title, a.url, a.version,
       s.support
FROM (VALUES (1)) one
LEFT JOIN hits h ON true
LEFT JOIN {PREFIX}_articles a ON a.id = h.article_id
LEFT JOIN LATERAL (
    SELECT to_tsvector(h.config, unaccent(%(q)s)) AS v,
           greatest(1, length(to_tsvector(coalesce(%(language)s::regconfig, h.config), unaccent(%(q)s)))) AS n
) qv ON true
LEFT JOIN LATERAL (
    SELECT array_to_tsvector(coalesce(array_agg(u.lexeme), '{{}}')) AS v
    FROM unnest(qv.v) u WHERE u.positions && (SELECT positions FROM content)
) cv ON true
LEFT JOIN LATERAL (
    SELECT (length(qv.v) - length(ts_delete(qv.v, tsvector_to_array(h.tsv))))::float / greatest(1, length(qv.v))
             AS support,
           (%(concept)s * h.titled + %(concept_body)s * (h.named - h.titled))::float / qv.n AS named,
           (length(cv.v) - length(ts_delete(cv.v, tsvector_to_array(ts_filter(h.tsv, '{{a}}')))))::float / qv.n
             AS titled,
           (length(cv.v) - length(ts_delete(cv.v, tsvector_to_array(h.tsv))))::float / qv.n AS covered
) s ON true
ORDER BY s.covered + %(title_word)s * s.titled + s.named
         + %(same_language)s * coalesce(h.config = %(language)s::regconfig AND h.titled > 0
             AND bool_or(h.titled > 0 AND h.config <> %(language)s::regconfig) OVER (), false)::int::float / qv.n
         - %(close_language)s * coalesce(h.config = ANY(%(close)s::regconfig[]), false)::int::float / qv.n
         DESC NULLS LAST, coalesce(h.config = %(language)s::regconfig, false) DESC, h.score DESC, h.article_id, h.chunk
"""


GENERIC_PLAN = b"SET LOCAL plan_cache_mode = force_generic_plan"


def search_params(workspace_id: UUID, question: str, k: int = TOP_K) -> dict[str, object]:
    """The parameters of ``SEARCH_SQL`` for one question."""
    code = guess_language(question)
    return {
        "ws": workspace_id,
        "q": question[:2000],
        "k": k,
        "budget": BUDGET,
        "shortlist": SHORTLIST,
        "weights": WEIGHTS,
        "fuzzy": FUZZY,
        "concepts": expansions(question),
        "expansion": EXPANSION,
        "concept": CONCEPT,
        "concept_body": CONCEPT_BODY,
        "title_word": TITLE_WORD,
        "language": text_search_config(code) if code else None,
        "same_language": SAME_LANGUAGE,
        "close": [text_search_config(other) for other in CLOSE.get(code or "", ())],
        "close_language": CLOSE_LANGUAGE,
    }


def language_config(question: str) -> str | None:
    """The text search configuration of the language the question is clearly written in, or None."""
    language = guess_language(question)
    return text_search_config(language) if language else None


class KnowledgeView(TrackedView):
    """Tables ``knowledge_v1_*`` (migrations/0008) plus tracking."""

    prefix: ClassVar[str] = PREFIX

    def _search_rows(self, params: dict[str, object]) -> list[dict[str, Any]]:
        """``SEARCH_SQL``'s rows on its generic plan. Left to choose, PostgreSQL plans this prepared statement
        afresh for every question (its parameters are arrays it cannot estimate), ~1 ms of planning against ~1.3 ms
        of execution; the generic plan has the same shape, since the shape is fixed by the statement's capped scans
        (docs/performance.md, "Session 11"). ``SET LOCAL`` in a pipelined transaction: one round trip, and no
        other statement of the shared pool is affected. Inside a projection page: the page's cursor, as before."""
        if self.page_cursor() is not None:
            return self.query(SEARCH_SQL, params)
        with self.datastore.get_connection() as conn:
            with conn.pipeline(), conn.transaction():
                conn.execute(GENERIC_PLAN)
                cursor = conn.execute(SEARCH_SQL.encode(), params, prepare=True)
            return list(cursor.fetchall())

    def search(self, workspace_id: UUID, question: str, at_version: int = 0, k: int = TOP_K) -> list[KnowledgeHit]:
        """The best ``k`` chunks for ``question``, best first. Blocks until the view reflects the workspace version
        ``at_version`` (or ``WAIT_S`` passed), so an article edited before the turn is the one it reads."""
        deadline = time.monotonic() + WAIT_S
        while True:
            rows = self._search_rows(search_params(workspace_id, question, k))
            seen = rows[0]["ws_version"] if rows else None
            if (seen or 0) >= at_version:
                break
            if time.monotonic() > deadline:
                log.warning(
                    "knowledge view of workspace %s is at version %s, not %s, after %.0f s: is the knowledge projection"
                    " running? Answering from what it has.",
                    workspace_id, seen, at_version, WAIT_S,
                )  # fmt: skip
                break
            time.sleep(0.01)
        return [
            KnowledgeHit(
                str(r["article_id"]),
                r["version"],
                r["chunk"],
                r["title"],
                r["url"],
                r["heading"],
                r["text"],
                float(r["score"]),
                float(r["support"]),
            )
            for r in rows
            if r["article_id"] is not None
        ]
