"""Reads of the knowledge read model (projections/knowledge): the article list, one article, the knowledge gaps."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import msgspec

from projections.knowledge.view import PREFIX

ARTICLE_COLUMNS = "id, title, url, tags, language, published, source, version, updated_at"


@runtime_checkable
class KnowledgeSource(Protocol):
    """Any view on the database (the queries name their tables)."""

    def query(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows as dicts."""
        ...


class ArticleSummary(msgspec.Struct):
    """An article in the list."""

    id: str
    title: str
    url: str | None
    tags: list[str]
    language: str
    published: bool
    source: str
    version: int
    updated_at: str


class ArticleView(ArticleSummary):
    """An article with its Markdown body."""

    body: str = ""


class ArticleList(msgspec.Struct):
    """Articles, newest change first."""

    articles: list[ArticleSummary]
    total: int


class GapReasons(msgspec.Struct):
    """How many of a gap's questions were listed for each reason (one question may count under several)."""

    low_support: int  # no article covered most of its words (support below 0.5)
    offered: int  # the answer's confidence was low: the visitor was offered a person
    escalated: int  # a rule handed it to a person before the AI answered


class Gap(msgspec.Struct):
    """Visitor questions no article answered well (low retrieval support, a person offered for low confidence, an
    escalation), grouped by their content words."""

    key: str
    example: str
    count: int
    best_support: float
    first_seen: str
    last_seen: str
    conversations: list[str]
    reasons: GapReasons


class GapList(msgspec.Struct):
    """The most asked uncovered questions first."""

    gaps: list[Gap]


def _summary(row: dict[str, Any], cls: type[ArticleSummary] = ArticleSummary, **extra: Any) -> Any:
    return cls(
        str(row["id"]), row["title"], row["url"], list(row["tags"]), row["language"], row["published"],
        row["source"], row["version"], row["updated_at"].isoformat(), **extra,
    )  # fmt: skip


def list_articles(source: KnowledgeSource, workspace_id: UUID, q: str | None, limit: int, offset: int) -> ArticleList:
    """The workspace's articles; ``q`` filters by title (case-insensitive substring)."""
    where = "workspace_id = %(ws)s" + (" AND title ILIKE %(q)s" if q else "")
    params = {"ws": workspace_id, "q": f"%{q}%" if q else None, "limit": limit, "offset": offset}
    rows = source.query(
        f"SELECT {ARTICLE_COLUMNS}, count(*) OVER () AS total FROM {PREFIX}_articles WHERE {where}"
        " ORDER BY updated_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    return ArticleList([_summary(r) for r in rows], rows[0]["total"] if rows else 0)


def get_article(source: KnowledgeSource, workspace_id: UUID, article_id: UUID) -> ArticleView | None:
    """One article of the workspace, or None."""
    rows = source.query(
        f"SELECT {ARTICLE_COLUMNS}, body FROM {PREFIX}_articles WHERE workspace_id = %(ws)s AND id = %(id)s",
        {"ws": workspace_id, "id": article_id},
    )
    return _summary(rows[0], ArticleView, body=rows[0]["body"]) if rows else None


def list_gaps(source: KnowledgeSource, workspace_id: UUID, limit: int) -> GapList:
    """The knowledge gaps, most asked first, then most recent."""
    rows = source.query(
        f"SELECT * FROM {PREFIX}_gaps WHERE workspace_id = %(ws)s ORDER BY count DESC, last_seen DESC, key"
        " LIMIT %(limit)s",
        {"ws": workspace_id, "limit": limit},
    )
    return GapList([_gap(r) for r in rows])


def _gap(r: dict[str, Any]) -> Gap:
    conversations = [str(c) for c in reversed(r["conversations"])]  # the latest first
    first, last = r["first_seen"].isoformat(), r["last_seen"].isoformat()
    reasons = GapReasons(r["low_support"], r["offered"], r["escalated"])
    return Gap(r["key"], r["example"], r["count"], round(r["best_support"], 3), first, last, conversations, reasons)
