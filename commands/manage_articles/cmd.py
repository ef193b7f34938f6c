"""Write, edit, publish, unpublish and delete help articles (Admin: ``knowledge.manage``).

Each write saves the article's events and ``Workspace.KnowledgeChanged`` in one transaction: the next chat turn
loads that workspace version and waits for the knowledge read model to reach it (read-your-writes). A built-in
starter article has no stream until a person changes it: the first change creates its stream from the built-in text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from commands._common import load
from commands.application import ChatAssistApp
from domain.errors import Conflict, NotFound
from domain.knowledge import Article, builtin_article_id, check_article
from domain.workspace import Workspace

KNOWLEDGE_MANAGE = "knowledge.manage"


@dataclass(frozen=True)
class CreateArticle:
    """A new article, published unless ``published`` is False."""

    workspace_id: UUID
    by: UUID
    title: str
    body: str
    url: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str = "en"
    published: bool = True


@dataclass(frozen=True)
class ChangeArticle:
    """``action``: edit (with ``changes``), publish, unpublish or delete."""

    workspace_id: UUID
    by: UUID
    article_id: UUID
    action: str
    changes: dict[str, Any] = field(default_factory=dict)


def create(app: ChatAssistApp, cmd: CreateArticle) -> Article:
    """Validate and save a new article; returns it as saved."""
    workspace = load(app, cmd.workspace_id, Workspace, "workspace")
    workspace.check_permission(cmd.by, KNOWLEDGE_MANAGE)
    fields = check_article(cmd.title, cmd.body, cmd.url, cmd.tags, cmd.language)
    article = Article(cmd.workspace_id, **fields, published=cmd.published, source="manual", source_hash=None, by=cmd.by)
    workspace.note_knowledge_changed([str(article.id)], cmd.by)
    _save(app, workspace, article)
    return article


def change(app: ChatAssistApp, cmd: ChangeArticle) -> Article:
    """Apply one change to an article of the workspace (a built-in one is adopted first); returns it as saved."""
    workspace = load(app, cmd.workspace_id, Workspace, "workspace")
    workspace.check_permission(cmd.by, KNOWLEDGE_MANAGE)
    article = find(app, workspace, cmd.article_id)
    if cmd.action == "edit":
        changed = article.edit(cmd.changes, cmd.by, None)
    elif cmd.action == "publish":
        changed = article.publish(cmd.by)
    elif cmd.action == "unpublish":
        changed = article.unpublish(cmd.by)
    elif cmd.action == "delete":
        article.delete(cmd.by)
        changed = True
    else:
        raise ValueError(f"unknown article action {cmd.action!r}")
    if changed:
        workspace.note_knowledge_changed([str(article.id)], cmd.by)
        _save(app, workspace, article)
    return article


def find(app: ChatAssistApp, workspace: Workspace, article_id: UUID) -> Article:
    """The workspace's article ``article_id`` (a built-in one adopted, unsaved), or NotFound ``article_not_found``."""
    try:
        found: object = app.repository.get(article_id)
    except AggregateNotFoundError:
        found = None
    article = found if isinstance(found, Article) else None
    if article is not None and article.workspace_id == workspace.id and not article.deleted:
        return article
    if found is None:
        for snippet in workspace.snippets():
            if builtin_article_id(workspace.id, snippet.id) == article_id:
                fields = check_article(snippet.title, snippet.text, None, list(snippet.keywords), "en")
                return Article._create(
                    Article.Created,
                    id=article_id,
                    workspace_id=workspace.id,
                    **fields,
                    published=True,
                    source="builtin",
                    source_hash=None,
                    by=None,
                )
    raise NotFound(f"No article with id {article_id} in this workspace.", code="article_not_found")


def _save(app: ChatAssistApp, workspace: Workspace, *articles: Article) -> None:
    try:
        app.save(*articles, workspace)  # the workspace last: once the view has its version, it has the articles
    except RecordConflictError:
        raise Conflict(
            "The knowledge base changed while we were saving; try again.", code="concurrent_update"
        ) from None
