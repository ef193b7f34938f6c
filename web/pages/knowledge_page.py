"""The Knowledge screen: the workspace's help articles (search, write and edit in Markdown with a preview, publish,
unpublish, delete), imports (files, a ZIP, a docs site) and the knowledge gaps, each with a way to write the missing
article. The actions post to the JSON API (/api/knowledge, web/static/app.js); this page reads through the same
queries (read_api/get_knowledge)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import anyio
import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from markdown_it import MarkdownIt
from markupsafe import Markup

from domain.errors import NotFound
from domain.knowledge import AUTO, LANGUAGES
from read_api.get_knowledge import query
from web.guards import GUARDS
from web.pages._render import html, local, page, render
from web.pages.shell import shell_of

PAGE_SIZE = 50
WAIT_S = 5.0
GAPS = 20
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "it": "Italian",
    "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "nb": "Norwegian Bokmål",
    "nn": "Norwegian Nynorsk", "fi": "Finnish", "ru": "Russian", "tr": "Turkish", "hu": "Hungarian", "ro": "Romanian",
    "ca": "Catalan", "el": "Greek", "id": "Indonesian", "ga": "Irish", "lt": "Lithuanian", "ar": "Arabic",
    "hy": "Armenian", "eu": "Basque", "hi": "Hindi", "ne": "Nepali", "sr": "Serbian", "ta": "Tamil", "yi": "Yiddish",
    "other": "Another language (word for word)",
}  # fmt: skip
# CommonMark without raw HTML: a pasted <script> is shown as text; markdown-it refuses javascript: links itself
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
MAX_PREVIEW_CHARS = 200_000


def preview_html(markdown: str) -> Markup:
    """The article's Markdown as the preview shows it (escaped: no raw HTML passes)."""
    return Markup(_MARKDOWN.render(markdown[:MAX_PREVIEW_CHARS]))


async def caught_up(analytics: query.KnowledgeSource, workspace_id: UUID, wait: str | None) -> None:
    """Read your writes: after a change the page asks for ``wait`` = "<article id>:<version>" (or ":deleted"), and
    waits (up to ``WAIT_S``) until the knowledge read model shows that version, so the list or the editor shows the
    change just made. A malformed value waits for nothing."""
    if not wait:
        return
    id_text, _, version_text = wait.partition(":")
    try:
        article_id = UUID(id_text)
        version = -1 if version_text == "deleted" else int(version_text or 0)
    except ValueError:
        return
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = await anyio.to_thread.run_sync(query.get_article, analytics, workspace_id, article_id)
        if (found is None) if version < 0 else (found is not None and found.version >= version):
            return
        await anyio.sleep(0.05)


def languages(current: str | None = None, auto: bool = False) -> list[tuple[str, str]]:
    """The languages PostgreSQL has a text search configuration for, with their names (``current``, an article's
    language it has none for, too; ``auto``: an import's "each document's own")."""
    known = [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES]
    if current is not None and current not in LANGUAGES:
        known.insert(0, (current, f"{current} (word for word)"))
    return [(AUTO, "Auto: each page's own (else English)")] * auto + known


@get("/app/knowledge", guards=[GUARDS["knowledge.manage"]], include_in_schema=False, name="knowledge")
async def knowledge(
    request: Request[Any, Any, Any],
    analytics: query.KnowledgeSource,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
    wait: Annotated[str | None, QueryParameter(max_length=80)] = None,
) -> Response[str]:
    """The article list (search by title), import, and the knowledge gaps."""
    shell = await shell_of(request, "knowledge")
    ws = shell.member.workspace_id
    await caught_up(analytics, ws, wait)
    q = (q or "").strip() or None

    def read() -> tuple[query.ArticleList, query.GapList]:
        return query.list_articles(analytics, ws, q, PAGE_SIZE, offset), query.list_gaps(analytics, ws, GAPS)

    articles, gaps = await anyio.to_thread.run_sync(read)
    published = sum(1 for a in articles.articles if a.published)
    context = {
        "shell": shell,
        "articles": articles,
        "gaps": gaps.gaps,
        "q": q or "",
        "offset": offset,
        "page_size": PAGE_SIZE,
        "published": published,
        "languages": languages(auto=True),
        "updated": lambda iso: local(datetime.fromisoformat(iso), shell.facts.time_zone, "MMMd"),
    }
    return page(request, "pages/knowledge.html.j2", "partials/knowledge_list.html.j2", **context)


@get("/app/knowledge/editor", guards=[GUARDS["knowledge.manage"]], include_in_schema=False, name="knowledge_editor")
async def editor(
    request: Request[Any, Any, Any],
    analytics: query.KnowledgeSource,
    article: UUID | None = None,
    title: Annotated[str | None, QueryParameter(max_length=500)] = None,
    wait: Annotated[str | None, QueryParameter(max_length=80)] = None,
) -> Response[str]:
    """Write a new article (``title`` prefilled from a gap), or edit ``article``."""
    shell = await shell_of(request, "knowledge")
    found = None
    await caught_up(analytics, shell.member.workspace_id, wait)
    if article is not None:
        found = await anyio.to_thread.run_sync(query.get_article, analytics, shell.member.workspace_id, article)
        if found is None:
            raise NotFound(f"No article with id {article} in this workspace.", code="article_not_found")
    context = {
        "shell": shell,
        "article": found,
        "title": found.title if found else (title or ""),
        "body": found.body if found else "",
        "preview": preview_html(found.body) if found else Markup(""),
        "languages": languages(found.language if found else None),
        "saved": request.query_params.get("saved") == "1",
    }
    return html(render("pages/knowledge_editor.html.j2", **context))


@post(
    "/app/knowledge/preview",
    guards=[GUARDS["knowledge.manage"]],
    include_in_schema=False,
    name="knowledge_preview",
    status_code=200,
    request_max_body_size=1024 * 1024,
)
async def preview(
    data: Annotated[dict[str, Any] | None, Body(media_type=RequestEncodingType.URL_ENCODED)] = None,
) -> Response[str]:
    """The editor's Markdown as HTML (htmx posts the form as the author types; nothing is saved)."""
    body = (data or {}).get("body") or ""
    text = body if isinstance(body, str) else ""
    return html(str(preview_html(text)) or '<p class="muted">The preview shows here as you type.</p>')


KNOWLEDGE_PAGES = [knowledge, editor, preview]
