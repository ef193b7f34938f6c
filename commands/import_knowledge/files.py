"""Markdown and HTML files (one, several, or a ZIP of them) turned into documents to import, refusing what is unsafe.

A ZIP is read entry by entry without extracting anything to disk: an entry whose name is absolute or climbs out
(``..``) is refused (``zip_path_traversal``), and so is an archive that would expand past ``MAX_UNZIPPED_BYTES``, has
more than ``MAX_FILES`` entries, or an entry compressed more than ``MAX_RATIO`` times (``zip_bomb``): the sizes are
checked while reading, not trusted from the archive's directory.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from domain.errors import InvalidInput
from domain.knowledge import language_code

MARKDOWN = (".md", ".markdown")
HTML = (".html", ".htm")
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
MAX_FILES = 2_000
MAX_RATIO = 100
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FRONT_LANG = re.compile(r"^(?:lang|language)[ \t]*:[ \t]*[\"']?([A-Za-z_-]+)", re.MULTILINE)
_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)


class UnsupportedFile(InvalidInput):
    """A file that is not Markdown, HTML or a ZIP of them."""

    code = "unsupported_file_type"


@dataclass(frozen=True)
class Document:
    """A page or file to import: ``key`` finds it again on a re-import; ``digest`` tells whether it changed."""

    key: str
    title: str
    body: str
    url: str | None
    digest: str
    language: str | None = None  # as the document declares it (HTML lang, Markdown front matter); None: not declared


def digest(text: str) -> str:
    """The content hash recorded on an imported article."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def from_markdown(key: str, text: str, url: str | None = None) -> Document:
    """A Markdown document: its first ``# heading`` is the title (removed from the body), else the file name; a YAML
    front matter block (``---`` lines) is left out of the body, its ``lang`` or ``language`` is the document's
    declared language."""
    language = None
    front = _FRONT.match(text)
    content = text[front.end() :] if front else text
    if front:
        declared = _FRONT_LANG.search(front.group(1))
        language = language_code(declared.group(1)) if declared else None
    found = _H1.search(content)
    title = found.group(1).strip() if found else PurePosixPath(key).stem.replace("-", " ").replace("_", " ").title()
    body = (content[: found.start()] + content[found.end() :]).strip() if found else content.strip()
    return Document(key, title[:300], body, url, digest(text), language)


def from_html(key: str, html: str, url: str | None = None) -> Document | None:
    """An HTML page as clean Markdown (trafilatura drops navigation, footers and boilerplate); None when it has no
    main text."""
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, url=url, output_format="python", include_links=False, include_tables=True, with_metadata=True
    )
    text = trafilatura.extract(html, url=url, output_format="markdown", include_tables=True, include_links=False)
    if not text or not text.strip():
        return None
    title = getattr(extracted, "title", None) if extracted is not None else None
    if not title:
        title = PurePosixPath(key).stem.replace("-", " ").title()
    declared = _HTML_LANG.search(html[:20_000])
    language = language_code(declared.group(1)) if declared else None
    return Document(key, str(title).strip()[:300], text.strip(), url, digest(text), language)


def decode(name: str, data: bytes) -> str:
    """UTF-8 text of a file (a BOM dropped), or InvalidInput ``not_text``."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not UTF-8 text.", code="not_text") from None


def documents(name: str, data: bytes) -> tuple[list[Document], list[str]]:
    """The documents of one uploaded file (a ZIP: of each Markdown/HTML entry), and the names skipped (other types,
    or pages with no text)."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return from_zip(data)
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name} is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB.", code="file_too_large")
    if lower.endswith(MARKDOWN):
        return [from_markdown(name, decode(name, data))], []
    if lower.endswith(HTML):
        doc = from_html(name, decode(name, data))
        return ([doc], []) if doc else ([], [name])
    raise UnsupportedFile(f"{name}: upload Markdown (.md), HTML (.html) or a ZIP of them.")


def from_zip(data: bytes) -> tuple[list[Document], list[str]]:
    """Every Markdown/HTML entry of a ZIP, read safely (module docstring)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput("The file is not a readable ZIP archive.", code="invalid_zip") from None
    entries = [i for i in archive.infolist() if not i.is_dir()]
    if len(entries) > MAX_FILES:
        raise InvalidInput(f"The ZIP has {len(entries)} files; at most {MAX_FILES} are imported.", code="zip_bomb")
    docs: list[Document] = []
    skipped: list[str] = []
    total = 0
    for info in entries:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[a-zA-Z]:", info.filename):
            raise InvalidInput(
                f"The ZIP entry {info.filename!r} points outside the archive.", code="zip_path_traversal"
            )
        if not info.filename.lower().endswith(MARKDOWN + HTML):
            skipped.append(info.filename)
            continue
        raw = _read_bounded(archive, info, MAX_UNZIPPED_BYTES - total)
        total += len(raw)
        if info.compress_size and len(raw) / info.compress_size > MAX_RATIO:
            raise InvalidInput(f"The ZIP entry {info.filename!r} expands {MAX_RATIO}+ times.", code="zip_bomb")
        found, more = documents(str(path), raw)
        docs += found
        skipped += more
    return docs, skipped


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """The entry's bytes, refusing to read past ``budget`` or the per-file limit (sizes in the directory can lie)."""
    limit = min(budget, MAX_FILE_BYTES)
    with archive.open(info) as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise InvalidInput(
            f"The ZIP expands to more than {MAX_UNZIPPED_BYTES // 1024 // 1024} MiB or has a file over "
            f"{MAX_FILE_BYTES // 1024 // 1024} MiB.",
            code="zip_bomb",
        )
    return raw
