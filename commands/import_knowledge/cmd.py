"""ImportKnowledge: documents (uploaded files or crawled pages) become articles, in one transaction.

An imported article's id derives from the workspace and the document's key (its path or URL), so a re-import finds
it: a changed document updates it, an unchanged one records nothing, and one a person has edited since (its
``source_hash`` cleared) is left alone unless ``overwrite_edited``. A document that fails validation is reported and
not written; the others are saved together with ``Workspace.KnowledgeChanged``, so nothing is half-imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from commands._common import load
from commands.application import ChatAssistApp
from commands.import_knowledge.files import Document
from domain.errors import Conflict, InvalidInput
from domain.knowledge import AUTO, Article, check_article, imported_article_id
from domain.workspace import Workspace

KNOWLEDGE_MANAGE = "knowledge.manage"
DEFAULT_LANGUAGE = "en"  # of a document that declares none, when the import's language is auto


@dataclass
class ImportReport:
    """What an import did, document by document (ids of articles; keys of documents)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # key, code, reason
    skipped: list[str] = field(default_factory=list)  # not Markdown/HTML, or no main text

    def to_dict(self) -> dict[str, object]:
        """Plain values, as the API and the CLI print them."""
        return dict(vars(self))


@dataclass(frozen=True)
class ImportKnowledge:
    """``by``: the admin (None: the command line); ``source``: upload or crawl."""

    workspace_id: UUID
    documents: list[Document]
    source: str
    by: UUID | None = None
    language: str = AUTO  # a code for every document, or each document's declared language (else en)
    overwrite_edited: bool = False


def execute(app: ChatAssistApp, cmd: ImportKnowledge, report: ImportReport | None = None) -> ImportReport:
    """Create or update the articles of ``cmd.documents``; returns the report (``report``: one to add to)."""
    report = report or ImportReport()
    workspace = load(app, cmd.workspace_id, Workspace, "workspace")
    if cmd.by is not None:
        workspace.check_permission(cmd.by, KNOWLEDGE_MANAGE)
    changed: list[Article] = []
    for doc in cmd.documents:
        article_id = imported_article_id(cmd.workspace_id, doc.key)
        try:
            language = (doc.language or DEFAULT_LANGUAGE) if cmd.language == AUTO else cmd.language
            fields = check_article(doc.title, doc.body, doc.url, [], language)
        except InvalidInput as err:
            report.failed.append({"key": doc.key, "code": err.code, "reason": err.message})
            continue
        existing = _get(app, article_id)
        if existing is None:
            changed.append(
                Article._create(  # a chosen id: the document's
                    Article.Created,
                    id=article_id,
                    workspace_id=cmd.workspace_id,
                    **fields,
                    published=True,
                    source=cmd.source,
                    source_hash=doc.digest,
                    by=cmd.by,
                )
            )
            report.created.append(str(article_id))
        elif existing.deleted:
            report.kept_deleted.append(str(article_id))
        elif existing.source_hash is None and not cmd.overwrite_edited:
            report.kept_edited.append(str(article_id))
        elif existing.source_hash == doc.digest:
            report.unchanged.append(str(article_id))
        else:
            changes = {k: fields[k] for k in ("title", "body", "url", "language")}
            existing.edit(changes, cmd.by, doc.digest)
            changed.append(existing)
            report.updated.append(str(article_id))
    if changed:
        workspace.note_knowledge_changed([str(a.id) for a in changed], cmd.by)
        try:
            app.save(*changed, workspace)  # the workspace last: its version tells a turn the view has them all
        except RecordConflictError:
            raise Conflict(
                "The knowledge base changed during the import; run it again.", code="concurrent_update"
            ) from None
    return report


def _get(app: ChatAssistApp, article_id: UUID) -> Article | None:
    try:
        found: object = app.repository.get(article_id)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, Article) else None
