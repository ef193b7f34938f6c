"""/api/knowledge: help articles (write, edit, publish, unpublish, delete) and the knowledge gaps; Admin only
(``knowledge.manage``). Writes are events (docs/knowledge.md); reads come from the knowledge read model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, Parameter

from commands.chat_turn.service import ChatService
from commands.import_knowledge import cmd as importer
from commands.import_knowledge import crawl, files
from commands.manage_articles import cmd as articles
from domain.errors import InvalidInput, NotFound
from domain.knowledge import Article, check_language
from read_api.get_knowledge import query
from web.auth import Auth, Member
from web.guards import GUARDS

MAX_ARTICLE_REQUEST_BYTES = 1024 * 1024  # an article body may have 200,000 characters (4 bytes each at most)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOADS = Body(media_type=RequestEncodingType.MULTI_PART)


async def files_attached(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Before Litestar reads an upload: a form with no file is a 422 ``no_files``. Litestar 2 takes the form's first
    value for a ``list[UploadFile]``, so an empty form raised IndexError (a 500; found by tests/e2e/test_fuzz_api.py).
    A guard, as it runs after the permission check and before the body is read (a before-request hook of the
    handler's own would replace the app's query-string check)."""
    if not isinstance(connection, Request):  # an HTTP route's guards get its request
        return
    form = await connection.form()  # kept on the request: Litestar reads the upload from it
    if not any(isinstance(value, UploadFile) for _, value in form.multi_items()):
        raise InvalidInput("Attach at least one file.", code="no_files")


class CrawlRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Where to start, and how far to go."""

    url: str
    max_pages: int = msgspec.field(default=100)
    max_depth: int = msgspec.field(default=3)
    language: str = "auto"  # or a language code for every page (docs/knowledge.md, "Languages")
    overwrite_edited: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.max_pages <= 1000 or not 0 <= self.max_depth <= 10:
            raise InvalidInput("max_pages must be 1 to 1000 and max_depth 0 to 10.", code="invalid_crawl_limits")


class ImportResult(msgspec.Struct):
    """What an import did: article ids created, updated, unchanged, left alone (edited here, or deleted); documents
    that failed (key, code, reason) or were skipped (not Markdown/HTML, disallowed by robots.txt, no text)."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]
    kept_edited: list[str]
    kept_deleted: list[str]
    failed: list[dict[str, str]]
    skipped: list[str]


class ArticleRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A new article: Markdown ``body``; ``language`` an ISO 639 code (en, es, ja...: docs/knowledge.md)."""

    title: str
    body: str
    url: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    language: str = "en"
    published: bool = True


class ArticleChanges(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields to change; those left out keep their value."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    body: str | msgspec.UnsetType = msgspec.UNSET
    url: str | msgspec.UnsetType | None = msgspec.UNSET
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET


class ArticleSaved(msgspec.Struct):
    """The article as saved (the list reads it from the read model a moment later)."""

    id: str
    title: str
    url: str | None
    tags: list[str]
    language: str
    published: bool
    source: str
    version: int
    deleted: bool = False


def saved(article: Article) -> ArticleSaved:
    """The response body of a write."""
    return ArticleSaved(
        str(article.id), article.title, article.url, list(article.tags), article.language, article.published,
        article.source, article.version, article.deleted,
    )  # fmt: skip


class KnowledgeController(Controller):
    """The caller's workspace's knowledge base."""

    path = "/api/knowledge"
    tags = ["knowledge"]
    guards = [GUARDS["knowledge.manage"]]

    @get("/articles", operation_id="listArticles", summary="Help articles, newest change first")
    async def list_articles(
        self,
        analytics: query.KnowledgeSource,
        current_member: Member,
        q: str | None = Parameter(default=None, max_length=200),
        limit: int = Parameter(default=50, ge=1, le=500),
        offset: int = Parameter(default=0, ge=0),
    ) -> query.ArticleList:
        """Every article (built-in, written, imported; drafts too), filtered by title with ``q``."""
        return await anyio.to_thread.run_sync(
            query.list_articles, analytics, current_member.workspace_id, q, limit, offset
        )

    @get("/articles/{article_id:uuid}", operation_id="getArticle", summary="One article with its body")
    async def get_article(
        self, article_id: UUID, analytics: query.KnowledgeSource, current_member: Member
    ) -> query.ArticleView:
        """404 ``article_not_found`` when the workspace has no such article."""
        found = await anyio.to_thread.run_sync(query.get_article, analytics, current_member.workspace_id, article_id)
        if found is None:
            raise NotFound(f"No article with id {article_id} in this workspace.", code="article_not_found")
        return found

    @post(
        "/articles",
        operation_id="createArticle",
        status_code=201,
        request_max_body_size=MAX_ARTICLE_REQUEST_BYTES,
        summary="Write an article",
    )
    async def create(self, data: ArticleRequest, auth: Auth, current_member: Member, chat: ChatService) -> ArticleSaved:
        """Published at once unless ``published`` is false; the next chat answer can use it."""
        command = articles.CreateArticle(
            current_member.workspace_id, current_member.account_id, data.title, data.body, data.url, data.tags,
            data.language, data.published,
        )  # fmt: skip
        done = saved(await anyio.to_thread.run_sync(articles.create, auth.app, command))
        chat.forget(current_member.workspace_id)
        return done

    @patch(
        "/articles/{article_id:uuid}",
        operation_id="editArticle",
        request_max_body_size=MAX_ARTICLE_REQUEST_BYTES,
        summary="Edit an article",
    )
    async def edit(
        self, article_id: UUID, data: ArticleChanges, auth: Auth, current_member: Member, chat: ChatService
    ) -> ArticleSaved:
        """Change some fields; an imported article edited here is left alone by a re-import."""
        changes: dict[str, Any] = msgspec.structs.asdict(data)
        changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
        return await self._change(auth, current_member, chat, article_id, "edit", changes)

    @post("/articles/{article_id:uuid}/publish", operation_id="publishArticle", status_code=200)
    async def publish(self, article_id: UUID, auth: Auth, current_member: Member, chat: ChatService) -> ArticleSaved:
        """Make a draft available to answers."""
        return await self._change(auth, current_member, chat, article_id, "publish")

    @post("/articles/{article_id:uuid}/unpublish", operation_id="unpublishArticle", status_code=200)
    async def unpublish(self, article_id: UUID, auth: Auth, current_member: Member, chat: ChatService) -> ArticleSaved:
        """Withdraw an article from answers, keeping it as a draft."""
        return await self._change(auth, current_member, chat, article_id, "unpublish")

    @delete("/articles/{article_id:uuid}", operation_id="deleteArticle", status_code=200)
    async def delete(self, article_id: UUID, auth: Auth, current_member: Member, chat: ChatService) -> ArticleSaved:
        """Delete an article (its history stays in the audit log)."""
        return await self._change(auth, current_member, chat, article_id, "delete")

    async def _change(
        self,
        auth: Auth,
        member: Member,
        chat: ChatService,
        article_id: UUID,
        action: str,
        changes: dict[str, Any] | None = None,
    ) -> ArticleSaved:
        command = articles.ChangeArticle(member.workspace_id, member.account_id, article_id, action, changes or {})
        done = saved(await anyio.to_thread.run_sync(articles.change, auth.app, command))
        chat.forget(member.workspace_id)  # the next answer here uses the change
        return done

    @post(
        "/import/files",
        operation_id="importKnowledgeFiles",
        status_code=200,
        request_max_body_size=MAX_UPLOAD_BYTES,
        summary="Import Markdown / HTML files or a ZIP of them",
        guards=[files_attached],  # after the controller's knowledge.manage
    )
    async def import_files(
        self,
        data: list[UploadFile] = UPLOADS,
        *,
        auth: Auth,
        current_member: Member,
        chat: ChatService,
        language: str = Parameter(default="auto", max_length=20),
        overwrite_edited: bool = Parameter(default=False),
    ) -> ImportResult:
        """Each file (form field ``files``) becomes an article, a ZIP's Markdown/HTML entries too; a re-import updates
        changed ones and leaves those edited here alone unless ``overwrite_edited``. Bad files: 422 with
        ``unsupported_file_type``, ``invalid_zip``, ``zip_path_traversal``, ``zip_bomb``, ``file_too_large``."""
        if not data:
            raise InvalidInput("Attach at least one file.", code="no_files")
        uploads = [(f.filename or "upload", await f.read()) for f in data]

        def run() -> ImportResult:
            docs: list[files.Document] = []
            skipped: list[str] = []
            for name, raw in uploads:
                found, more = files.documents(name, raw)
                docs += found
                skipped += more
            command = importer.ImportKnowledge(
                current_member.workspace_id, docs, "upload", current_member.account_id, check_language(language, True),
                overwrite_edited,
            )  # fmt: skip
            report = importer.execute(auth.app, command, importer.ImportReport(skipped=skipped))
            return ImportResult(**report.to_dict())  # type: ignore[arg-type]

        result = await anyio.to_thread.run_sync(run)
        chat.forget(current_member.workspace_id)
        return result

    @post("/import/crawl", operation_id="crawlKnowledge", status_code=200, summary="Import a docs site")
    async def import_crawl(
        self, data: CrawlRequest, auth: Auth, current_member: Member, chat: ChatService
    ) -> ImportResult:
        """Crawl one site from ``url`` (a page or a sitemap): same host, robots.txt honoured, at most ``max_pages``
        pages and ``max_depth`` links deep; each failed page is named in ``failed``. Refused: a URL that is not
        http(s) (``invalid_crawl_url``) or resolves to a private address (``private_address``)."""
        limits = crawl.CrawlLimits(
            max_pages=data.max_pages, max_depth=data.max_depth, allow_private=auth.app.knowledge_allow_private
        )
        language = check_language(data.language, allow_auto=True)
        crawl.check_start_url(data.url, limits.allow_private)

        def run() -> ImportResult:
            found = crawl.crawl(data.url, limits)
            command = importer.ImportKnowledge(
                current_member.workspace_id, found.documents, "crawl", current_member.account_id, language,
                data.overwrite_edited,
            )  # fmt: skip
            start = importer.ImportReport(failed=list(found.failed), skipped=list(found.skipped))
            return ImportResult(**importer.execute(auth.app, command, start).to_dict())  # type: ignore[arg-type]

        result = await anyio.to_thread.run_sync(run)
        chat.forget(current_member.workspace_id)  # the next answer here uses the imported pages
        return result

    @get("/gaps", operation_id="listKnowledgeGaps", summary="Questions the help articles did not cover")
    async def gaps(
        self,
        analytics: query.KnowledgeSource,
        current_member: Member,
        limit: int = Parameter(default=50, ge=1, le=500),
    ) -> query.GapList:
        """Visitor questions whose best help article covered less than half their words, grouped by their content
        words, with counts, first and last seen, and the latest conversations that asked them."""
        return await anyio.to_thread.run_sync(query.list_gaps, analytics, current_member.workspace_id, limit)
