"""The knowledge base: help articles as aggregates (one stream per article), chunking, languages and citations.

An article belongs to one workspace. Its id is random when a person writes it, derived from the workspace and the
page address when it is imported (so a re-import finds it), and derived from the built-in snippet id for the starter
articles every workspace gets (``builtin_article_id``): editing a built-in article adopts it as an Article stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import ClockedEvent
from domain.errors import Conflict, InvalidInput
from domain.retrieval import words

# language code (ISO 639-1) -> PostgreSQL's built-in text search configuration (stemming, stopwords); any other code
# is kept as the article's language and indexed with ``simple`` (words as written, no stemming, no stopwords), like
# ``other``. docs/knowledge.md, "Languages".
LANGUAGES: dict[str, str] = {
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "de": "german",
    "pt": "portuguese",
    "it": "italian",
    "nl": "dutch",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "nn": "norwegian",
    "fi": "finnish",
    "ru": "russian",
    "tr": "turkish",
    "hu": "hungarian",
    "ro": "romanian",
    "ca": "catalan",
    "el": "greek",
    "id": "indonesian",
    "ga": "irish",
    "lt": "lithuanian",
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "hi": "hindi",
    "ne": "nepali",
    "sr": "serbian",
    "ta": "tamil",
    "yi": "yiddish",
    "other": "simple",
}
AUTO = "auto"  # an import's default: each document's declared language (HTML lang, Markdown front matter), else en
_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")
MAX_TITLE = 300
MAX_BODY = 200_000
MAX_TAGS = 20
MAX_TAG = 50
MAX_URL = 2_000
CHUNK_CHARS = 1_500
SOURCES = ("manual", "upload", "crawl", "builtin")
_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/knowledge")


def builtin_article_id(workspace_id: UUID, snippet_id: str) -> UUID:
    """The id of a workspace's starter article ``snippet_id`` (stable, so the read model and an edit agree)."""
    return uuid5(_NS, f"builtin:{workspace_id}:{snippet_id}")


def imported_article_id(workspace_id: UUID, source_key: str) -> UUID:
    """The id of the article imported from ``source_key`` (a page URL or a file path): a re-import finds it."""
    return uuid5(_NS, f"import:{workspace_id}:{source_key}")


def text_search_config(language: str) -> str:
    """The PostgreSQL text search configuration an article in ``language`` is indexed with (``simple`` for a language
    PostgreSQL has no configuration for)."""
    return LANGUAGES.get(language, "simple")


def language_code(value: object) -> str | None:
    """``value`` as a language code (lower case, region dropped: ``pt-BR`` is ``pt``), or None if it is not one."""
    if not isinstance(value, str):
        return None
    found = _CODE.match(value.strip().lower())
    return found.group(1) if found else ("other" if value == "other" else None)


def check_language(language: object, allow_auto: bool = False) -> str:
    """The language code (any ISO 639 code; ``auto`` too for an import), or InvalidInput ``invalid_language``."""
    if allow_auto and language == AUTO:
        return AUTO
    code = language_code(language)
    if code is None:
        also = f" or {AUTO} (each document's declared language)" if allow_auto else ""
        raise InvalidInput(
            f"language must be a two- or three-letter ISO 639 code such as en, es or ja{also}; {language!r} is not"
            " one. A language PostgreSQL has no text search configuration for is indexed word for word.",
            code="invalid_language",
        )
    return code


def check_article(title: object, body: object, url: object, tags: object, language: object) -> dict[str, Any]:
    """Validated, normalised article fields; InvalidInput with a stable code otherwise."""
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_TITLE:
        raise InvalidInput(f"title must be 1 to {MAX_TITLE} characters.", code="invalid_article_title")
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("body must not be empty: write the article's text in Markdown.", code="empty_article")
    if len(body) > MAX_BODY:
        raise InvalidInput(
            f"body is {len(body):,} characters; an article may have at most {MAX_BODY:,}: split it.",
            code="article_too_large",
        )
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(str(url)) > MAX_URL:
            raise InvalidInput("url must be an http(s) address of at most 2,000 characters.", code="invalid_url")
    if not isinstance(tags, list | tuple) or len(tags) > MAX_TAGS:
        raise InvalidInput(f"tags must be a list of at most {MAX_TAGS} words.", code="invalid_tags")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise InvalidInput(f"each tag must be 1 to {MAX_TAG} characters.", code="invalid_tags")
        clean.append(tag.strip())
    return {
        "title": title.strip(),
        "body": body.strip(),
        "url": url,
        "tags": list(dict.fromkeys(clean)),
        "language": check_language(language),
    }


class Article(Aggregate):
    """A help article: title, Markdown body, URL, tags and language; drafts are not used to answer."""

    class Event(ClockedEvent):
        """Stamped by domain/clock.py."""

    class Created(Event, Aggregate.Created):
        """A new article (``by``: None for an import from the command line)."""

        workspace_id: UUID
        title: str
        body: str
        url: str | None
        tags: list[str]
        language: str
        published: bool
        source: str
        source_hash: str | None
        by: UUID | None

    class Edited(Event):
        """Changed fields (only those that changed); ``source_hash``: the imported document's, None for a person."""

        changes: dict[str, Any]
        by: UUID | None
        source_hash: str | None

    class Published(Event):
        """Available to answers again."""

        by: UUID | None

    class Unpublished(Event):
        """Withdrawn from answers (a draft)."""

        by: UUID | None

    class Deleted(Event):
        """Gone from answers and the list; the stream stays."""

        by: UUID | None

    @event(Created)
    def __init__(
        self,
        workspace_id: UUID,
        title: str,
        body: str,
        url: str | None,
        tags: list[str],
        language: str,
        published: bool,
        source: str,
        source_hash: str | None,
        by: UUID | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.title, self.body, self.url, self.tags, self.language = title, body, url, tags, language
        self.published = published
        self.source = source
        self.source_hash = source_hash  # hash of the imported page; None once a person edits the article
        self.deleted = False

    def fields(self) -> dict[str, Any]:
        """The editable fields as stored."""
        return {"title": self.title, "body": self.body, "url": self.url, "tags": self.tags, "language": self.language}

    def check_live(self) -> None:
        """Conflict ``article_deleted`` when the article was deleted."""
        if self.deleted:
            raise Conflict("This article was deleted.", code="article_deleted")

    def edit(self, changes: dict[str, Any], by: UUID | None, source_hash: str | None = None) -> bool:
        """Apply validated changes (``source_hash``: set by an import, None by a person); False if nothing changed."""
        self.check_live()
        unknown = sorted(set(changes) - {"title", "body", "url", "tags", "language"})
        if unknown:
            raise InvalidInput(f"Unknown article field(s): {', '.join(unknown)}.", code="invalid_article_field")
        merged = check_article(**{**self.fields(), **changes})
        diff = {k: v for k, v in merged.items() if self.fields()[k] != v}
        if not diff and source_hash == self.source_hash:
            return False
        self._edited(changes=diff, by=by, source_hash=source_hash)
        return True

    @event(Edited)
    def _edited(self, changes: dict[str, Any], by: UUID | None, source_hash: str | None) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.source_hash = source_hash

    def publish(self, by: UUID | None) -> bool:
        """Make the article available to answers; False when it already is."""
        self.check_live()
        if self.published:
            return False
        self._published(by=by)
        return True

    @event(Published)
    def _published(self, by: UUID | None) -> None:
        self.published = True

    def unpublish(self, by: UUID | None) -> bool:
        """Withdraw the article from answers (kept as a draft); False when it already is one."""
        self.check_live()
        if not self.published:
            return False
        self._unpublished(by=by)
        return True

    @event(Unpublished)
    def _unpublished(self, by: UUID | None) -> None:
        self.published = False

    def delete(self, by: UUID | None) -> None:
        """Delete the article (its stream stays for the audit trail)."""
        self.check_live()
        self._deleted(by=by)

    @event(Deleted)
    def _deleted(self, by: UUID | None) -> None:
        self.deleted = True
        self.published = False


@dataclass(frozen=True)
class Chunk:
    """A retrievable part of an article: its heading path and text."""

    number: int
    heading: str
    text: str


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def chunks(title: str, body: str, size: int = CHUNK_CHARS) -> list[Chunk]:
    """Split a Markdown body at headings, then at paragraphs, into parts of at most about ``size`` characters; each
    part keeps the nearest heading (the title for the first one) so it reads on its own."""
    sections: list[tuple[str, list[str]]] = [(title, [])]
    for line in body.splitlines():
        found = _HEADING.match(line)
        if found:
            sections.append((found.group(2) or title, []))
        else:
            sections[-1][1].append(line)
    out: list[Chunk] = []
    for heading, lines in sections:
        paragraphs = [p.strip() for p in "\n".join(lines).split("\n\n") if p.strip()]
        current = ""
        for paragraph in paragraphs:
            while len(paragraph) > size:  # one very long paragraph: cut at a space
                cut = paragraph.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                if current:
                    out.append(Chunk(len(out), heading, current))
                    current = ""
                out.append(Chunk(len(out), heading, paragraph[:cut].strip()))
                paragraph = paragraph[cut:].strip()
            if current and len(current) + len(paragraph) + 2 > size:
                out.append(Chunk(len(out), heading, current))
                current = ""
            current = f"{current}\n\n{paragraph}" if current else paragraph
        if current:
            out.append(Chunk(len(out), heading, current))
    return out or [Chunk(0, title, body.strip())]


@dataclass(frozen=True)
class KnowledgeHit:
    """A retrieved chunk: which article (and version) it comes from, its rank score and how much of the question it
    covers (``support`` in [0, 1]: the share of the question's words it contains, used by domain/assessment.py)."""

    article_id: str
    version: int
    chunk: int
    title: str
    url: str | None
    heading: str
    text: str
    score: float
    support: float

    def provenance(self) -> dict[str, Any]:
        """As recorded on the reply event."""
        return {
            "article_id": self.article_id,
            "version": self.version,
            "chunk": self.chunk,
            "score": round(self.score, 4),
            "support": round(self.support, 3),
        }


def citations_of(cited: list[str], hits: list[KnowledgeHit]) -> list[dict[str, Any]]:
    """The cited article ids that were actually retrieved for the turn (others are dropped), in order, once each,
    with the title and URL the visitor is shown."""
    by_id: dict[str, KnowledgeHit] = {}
    for hit in hits:
        by_id.setdefault(hit.article_id, hit)
    out: list[dict[str, Any]] = []
    for article_id in dict.fromkeys(c.strip().lower() for c in cited):
        found = by_id.get(article_id)
        if found is not None:
            out.append(
                {"article_id": found.article_id, "version": found.version, "title": found.title, "url": found.url}
            )
    return out


_SOURCES_TAG = re.compile(r"<sources>(.*?)</sources>", re.IGNORECASE | re.DOTALL)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_sources(trailer: str) -> list[str]:
    """Article ids named in the ``<sources>`` tag of a reply's trailer (none when the tag is missing)."""
    found = _SOURCES_TAG.search(trailer)
    return [m.lower() for m in _UUID.findall(found.group(1))] if found else []


GAP_SUPPORT = 0.5  # a visitor question whose best chunk covers less than this share of its words is a gap
MAX_GAP_KEY_WORDS = 12


def gap_key(question: str) -> str:
    """The group of a knowledge-gap question: its content words, folded and sorted (``How do I export invoices?``
    and ``export invoice how`` fall together)."""
    content = sorted(set(words(question)))[:MAX_GAP_KEY_WORDS]
    return " ".join(content) or " ".join(question.lower().split())[:200]
