"""The knowledge read model: articles, their chunks with a ``tsvector`` per language (retrieval on PostgreSQL full-text
search), the workspace version each workspace's rows reflect, and the knowledge gaps (docs/knowledge.md).

Built-in articles come from the workspace's own knowledge (``Workspace.Created`` / ``KnowledgeReplaced``); an
article with a stream (``Article.*``) replaces the built-in row of the same id when a person edits it.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.conversation import ERASED, Conversation
from domain.knowledge import Article, builtin_article_id, chunks, gap_key, text_search_config
from domain.workspace import Workspace
from projections._common import Statement
from projections.knowledge.view import PREFIX, WEIGHTS, KnowledgeView

MAX_GAP_CONVERSATIONS = 5
GAP_REASONS = ("low_support", "offered", "escalated")  # columns of knowledge_v1_gaps (migration 0040)


def _workspace_events() -> list[type[Any]]:
    """Every event class of the Workspace aggregate: each moves the workspace version this view reflects."""
    return [
        value
        for value in vars(Workspace).values()
        if isinstance(value, type) and issubclass(value, Workspace.Event) and value is not Workspace.Event
    ]


def untally(view: KnowledgeView, article_ids_sql: str, params: dict[str, Any]) -> Statement:
    """Take the chunks of the articles ``article_ids_sql`` selects out of the lexeme counts (before deleting them)."""
    return (
        f"UPDATE {view.table('terms')} t SET chunks = t.chunks - d.n"
        " FROM (SELECT c.workspace_id, l.lexeme, count(*) AS n"
        f" FROM {view.table('chunks')} c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)"
        f" WHERE c.article_id IN ({article_ids_sql}) GROUP BY 1, 2) d"
        " WHERE t.workspace_id = d.workspace_id AND t.lexeme = d.lexeme",
        params,
    )


def tally(view: KnowledgeView, article_id: Any) -> Statement:
    """Add an article's (new) chunks to the lexeme counts, and a lexeme the workspace meets for the first time to its
    lexicon (the typo step's index, ADR 0063: written once per lexeme, never updated)."""
    t = view.table("terms")
    return (
        f"WITH counted AS (INSERT INTO {t} AS t (workspace_id, lexeme, chunks) SELECT c.workspace_id, l.lexeme,"
        f" count(*) FROM {view.table('chunks')} c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)"
        " WHERE c.article_id = %(id)s GROUP BY 1, 2"
        " ON CONFLICT (workspace_id, lexeme) DO UPDATE SET chunks = t.chunks + EXCLUDED.chunks"
        " RETURNING t.workspace_id, t.lexeme)"
        f" INSERT INTO {view.table('lexicon')} (workspace_id, lexeme) SELECT workspace_id, lexeme FROM counted"
        " ON CONFLICT DO NOTHING",
        {"id": article_id},
    )


def post(view: KnowledgeView, article_id: Any) -> Statement:
    """The postings of an article's (new) chunks: one row per lexeme of a chunk, with its ts_rank there (ADR 0066)."""
    return (
        f"INSERT INTO {view.table('postings')} (article_id, chunk, lexeme, workspace_id, published, rank)"
        " SELECT c.article_id, c.chunk, l.lexeme, c.workspace_id, c.published,"
        " ts_rank(%(weights)s::float4[], c.tsv, quote_literal(l.lexeme)::tsquery, 1)"
        f" FROM {view.table('chunks')} c, unnest(tsvector_to_array(c.tsv)) AS l(lexeme)"
        " WHERE c.article_id = %(id)s AND l.lexeme !~ '[\\\\'']'",
        {"id": article_id, "weights": WEIGHTS},
    )


def unpost(view: KnowledgeView, article_ids_sql: str, params: dict[str, Any]) -> Statement:
    """Delete the postings of the articles ``article_ids_sql`` selects (with their chunks)."""
    return (f"DELETE FROM {view.table('postings')} WHERE article_id IN ({article_ids_sql})", params)


def article_statements(view: KnowledgeView, article_id: Any, row: dict[str, Any]) -> list[Statement]:
    """Upsert an article row and replace its chunks (``row``: the article's columns), keeping the lexeme counts."""
    a = view.table("articles")
    c = view.table("chunks")
    statements: list[Statement] = [
        untally(view, "%(id)s", {"id": article_id}),
        (
            f"INSERT INTO {a} (id, workspace_id, title, body, url, tags, language, published, source, source_hash,"
            " adopted, version, created_at, updated_at) VALUES (%(id)s, %(ws)s, %(title)s, %(body)s, %(url)s,"
            " %(tags)s, %(language)s, %(published)s, %(source)s, %(source_hash)s, %(adopted)s, %(version)s, %(at)s,"
            " %(at)s) ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body, url = EXCLUDED.url,"
            " tags = EXCLUDED.tags, language = EXCLUDED.language, published = EXCLUDED.published,"
            " source = EXCLUDED.source, source_hash = EXCLUDED.source_hash, adopted = EXCLUDED.adopted,"
            " version = EXCLUDED.version, updated_at = EXCLUDED.updated_at",
            {**row, "id": article_id},
        ),
        unpost(view, "%(id)s", {"id": article_id}),
        (f"DELETE FROM {c} WHERE article_id = %(id)s", {"id": article_id}),
    ]
    config = text_search_config(row["language"])
    statements.append(  # the configurations a question of this workspace is parsed in (view.SEARCH_SQL)
        (
            f"INSERT INTO {view.table('workspaces')} AS w (workspace_id, version, configs)"
            " VALUES (%(ws)s, 0, ARRAY[%(cfg)s::regconfig]) ON CONFLICT (workspace_id) DO UPDATE"
            " SET configs = w.configs || EXCLUDED.configs WHERE NOT %(cfg)s::regconfig = ANY(w.configs)",
            {"ws": row["ws"], "cfg": config},
        )
    )
    head = " ".join([row["title"], *row["tags"]])
    for part in chunks(row["title"], row["body"]):
        statements.append(
            (
                f"INSERT INTO {c} (article_id, chunk, workspace_id, published, config, heading, text, tsv) VALUES"
                " (%(id)s, %(n)s, %(ws)s, %(published)s, %(cfg)s::regconfig, %(heading)s, %(text)s,"
                " setweight(to_tsvector(%(cfg)s::regconfig, unaccent(%(head)s)), 'A')"
                " || setweight(to_tsvector(%(cfg)s::regconfig, unaccent(%(heading)s)), 'B')"
                " || to_tsvector(%(cfg)s::regconfig, unaccent(%(text)s)))",
                {
                    "id": article_id,
                    "n": part.number,
                    "ws": row["ws"],
                    "published": row["published"],
                    "cfg": config,
                    "heading": part.heading if part.heading != row["title"] else "",
                    "text": part.text,
                    "head": head,
                },
            )
        )
    statements.append(post(view, article_id))
    statements.append(tally(view, article_id))
    return statements


def _deleted(view: KnowledgeView, article_id: Any) -> list[Statement]:
    return [
        untally(view, "%(id)s", {"id": article_id}),
        unpost(view, "%(id)s", {"id": article_id}),
        (f"DELETE FROM {view.table('chunks')} WHERE article_id = %(id)s", {"id": article_id}),
        (f"DELETE FROM {view.table('articles')} WHERE id = %(id)s", {"id": article_id}),
    ]


_ARTICLE_EVENTS: list[type[Any]] = [
    Article.Created,
    Article.Edited,
    Article.Published,
    Article.Unpublished,
    Article.Deleted,
]


_SUBSCRIBED: list[type[Any]] = [
    *_workspace_events(),
    *_ARTICLE_EVENTS,
    Conversation.AssistantReplied,
    Conversation.PersonalDataErased,
]


class KnowledgeProjection(Projection[KnowledgeView]):
    """Keeps the articles, their searchable chunks, each workspace's applied version and the gaps."""

    name = PREFIX
    topics: tuple[str, ...] = tuple(get_topic(cls) for cls in _SUBSCRIBED)

    def _seen(self, e: Any) -> Statement:
        return (
            f"INSERT INTO {self.view.table('workspaces')} AS w (workspace_id, version) VALUES (%(ws)s, %(v)s)"
            " ON CONFLICT (workspace_id) DO UPDATE SET version = greatest(w.version, EXCLUDED.version)",
            {"ws": e.originator_id, "v": e.originator_version},
        )

    def _builtins(self, e: Any, knowledge: list[dict[str, Any]]) -> list[Statement]:
        statements: list[Statement] = []
        for snippet in knowledge:
            row = {
                "ws": e.originator_id,
                "title": snippet["title"],
                "body": snippet["text"],
                "url": None,
                "tags": list(snippet.get("keywords", ())),
                "language": "en",
                "published": True,
                "source": "builtin",
                "source_hash": None,
                "adopted": False,
                "version": 0,
                "at": e.timestamp,
            }
            statements += article_statements(self.view, builtin_article_id(e.originator_id, snippet["id"]), row)
        return statements

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Other workspace events only move the workspace's version."""
        if isinstance(domain_event, Workspace.Event):
            self.view.apply(tracking, [self._seen(domain_event)])
        else:
            self.view.apply(tracking, [])

    @process_event.register
    def _(self, e: Workspace.Created, tracking: Tracking) -> None:
        self.view.apply(tracking, [*self._builtins(e, e.knowledge), self._seen(e)])

    @process_event.register
    def _(self, e: Workspace.KnowledgeReplaced, tracking: Tracking) -> None:
        a, c = self.view.table("articles"), self.view.table("chunks")
        ws = {"ws": e.originator_id}
        stale = f"SELECT id FROM {a} WHERE workspace_id = %(ws)s AND source = 'builtin' AND NOT adopted"
        adopted = self.view.query(f"SELECT id FROM {a} WHERE workspace_id = %(ws)s AND adopted", ws)
        kept = {row["id"] for row in adopted}
        fresh = [k for k in e.knowledge if builtin_article_id(e.originator_id, k["id"]) not in kept]
        self.view.apply(
            tracking,
            [
                untally(self.view, stale, ws),
                unpost(self.view, stale, ws),
                (f"DELETE FROM {c} WHERE article_id IN ({stale})", ws),
                (f"DELETE FROM {a} WHERE id IN ({stale})", ws),
                *self._builtins(e, fresh),
                self._seen(e),
            ],
        )

    @process_event.register
    def _(self, e: Article.Created, tracking: Tracking) -> None:
        row = {
            "ws": e.workspace_id,
            "title": e.title,
            "body": e.body,
            "url": e.url,
            "tags": list(e.tags),
            "language": e.language,
            "published": e.published,
            "source": e.source,
            "source_hash": e.source_hash,
            "adopted": e.source == "builtin",
            "version": e.originator_version,
            "at": e.timestamp,
        }
        self.view.apply(tracking, article_statements(self.view, e.originator_id, row))

    def _current(self, article_id: Any) -> dict[str, Any] | None:
        rows = self.view.query(
            f"SELECT workspace_id AS ws, title, body, url, tags, language, published, source, source_hash, adopted,"
            f" version FROM {self.view.table('articles')} WHERE id = %(id)s",
            {"id": article_id},
        )
        return rows[0] if rows else None

    def _changed(self, e: Any, tracking: Tracking, **changes: Any) -> None:
        row = self._current(e.originator_id)
        if row is None:  # deleted meanwhile (cannot happen in one stream): only the position moves
            self.view.apply(tracking, [])
            return
        row = {**row, "tags": list(row["tags"]), **changes, "version": e.originator_version, "at": e.timestamp}
        self.view.apply(tracking, article_statements(self.view, e.originator_id, row))

    @process_event.register
    def _(self, e: Article.Edited, tracking: Tracking) -> None:
        self._changed(e, tracking, **e.changes, source_hash=e.source_hash)

    @process_event.register
    def _(self, e: Article.Published, tracking: Tracking) -> None:
        self._published(e, tracking, True)

    @process_event.register
    def _(self, e: Article.Unpublished, tracking: Tracking) -> None:
        self._published(e, tracking, False)

    def _published(self, e: Any, tracking: Tracking, published: bool) -> None:
        params = {"id": e.originator_id, "p": published, "v": e.originator_version, "at": e.timestamp}
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {self.view.table('articles')} SET published = %(p)s, version = %(v)s, updated_at = %(at)s"
                    " WHERE id = %(id)s",
                    params,
                ),
                (f"UPDATE {self.view.table('chunks')} SET published = %(p)s WHERE article_id = %(id)s", params),
                (f"UPDATE {self.view.table('postings')} SET published = %(p)s WHERE article_id = %(id)s", params),
            ],
        )

    @process_event.register
    def _(self, e: Article.Deleted, tracking: Tracking) -> None:
        self.view.apply(tracking, _deleted(self.view, e.originator_id))

    @process_event.register
    def _(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        knowledge = e.knowledge or {}
        statements: list[Statement] = []
        if knowledge.get("citations"):
            statements.append(
                (
                    f"INSERT INTO {self.view.table('citations')} (conversation_id, message_id, citations)"
                    " VALUES (%(c)s, %(m)s, %(citations)s::jsonb) ON CONFLICT DO NOTHING",
                    {"c": e.originator_id, "m": e.message_id, "citations": json.dumps(knowledge["citations"])},
                )
            )
        question = e.personal.get("question")
        if knowledge.get("gap") and question and question != ERASED and knowledge.get("workspace_id"):
            statements.append(self._gap(e, knowledge, question))
        self.view.apply(tracking, statements)

    @process_event.register
    def _(self, e: Conversation.PersonalDataErased, tracking: Tracking) -> None:
        """The conversation's key was destroyed (ADR 0044): its questions leave the gaps as a rebuild leaves them
        out (it reads them erased). A gap that only this conversation fed goes; a gap others fed too loses this
        conversation and one of its count (no reason counts more than the questions left), and its example reads
        "[erased]" until the next question (the exact counts of such a shared gap come back on a rebuild:
        docs/knowledge.md)."""
        params = {"ws": e.workspace_id, "c": e.originator_id, "erased": ERASED}
        gaps = self.view.table("gaps")
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {gaps} SET conversations = array_remove(conversations, %(c)s::uuid), count = count - 1,"
                    " low_support = least(low_support, count - 1), offered = least(offered, count - 1),"
                    " escalated = least(escalated, count - 1), example = %(erased)s"
                    " WHERE workspace_id = %(ws)s AND %(c)s::uuid = ANY(conversations)",
                    params,
                ),
                (
                    f"DELETE FROM {gaps} WHERE workspace_id = %(ws)s"
                    " AND (cardinality(conversations) = 0 OR count <= 0)",
                    params,
                ),
            ],
        )

    def _gap(self, e: Any, knowledge: dict[str, Any], question: str) -> Statement:
        reasons = set(knowledge.get("gap_reasons") or ["low_support"])  # replies recorded before the reasons: support
        params = {
            "ws": knowledge["workspace_id"],
            "key": gap_key(question),
            "q": question,
            "s": float(knowledge.get("support") or 0.0),  # None: a rule escalated before any retrieval
            "at": e.timestamp,
            "c": e.originator_id,
            "n": MAX_GAP_CONVERSATIONS,
            **{reason: int(reason in reasons) for reason in GAP_REASONS},
        }
        sql = (
            f"INSERT INTO {self.view.table('gaps')} AS g (workspace_id, key, example, count, best_support, first_seen,"
            " last_seen, conversations, low_support, offered, escalated) VALUES (%(ws)s, %(key)s, %(q)s, 1, %(s)s,"
            " %(at)s, %(at)s, ARRAY[%(c)s::uuid], %(low_support)s, %(offered)s, %(escalated)s)"
            " ON CONFLICT (workspace_id, key) DO UPDATE SET example = EXCLUDED.example, count = g.count + 1,"
            " best_support = greatest(g.best_support, EXCLUDED.best_support), last_seen = EXCLUDED.last_seen,"
            " low_support = g.low_support + EXCLUDED.low_support, offered = g.offered + EXCLUDED.offered,"
            " escalated = g.escalated + EXCLUDED.escalated,"
            " conversations = (array_remove(g.conversations, %(c)s::uuid) || %(c)s::uuid)"
            "[greatest(1, cardinality(array_remove(g.conversations, %(c)s::uuid)) + 2 - %(n)s):]"
        )
        return sql, params
