"""A bounded crawl of one docs site: same host only, robots.txt honoured, sitemap followed, pages and depth capped,
each page turned into Markdown by trafilatura. Private, loopback and link-local addresses are refused unless the
development setting allows them (docs/knowledge.md). Every page that fails is named in the result, with why.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from commands.import_knowledge.files import Document, from_html
from domain.errors import InvalidInput

USER_AGENT = "ChatAssistKnowledgeImporter/1.0"
SKIP_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".zip", ".css", ".js", ".ico", ".xml")
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CrawlLimits:
    """How far a crawl may go."""

    max_pages: int = 200
    max_depth: int = 3
    timeout_s: float = 10.0
    total_s: float = 600.0
    max_page_bytes: int = 2 * 1024 * 1024
    allow_private: bool = False


@dataclass
class CrawlResult:
    """The pages turned into documents, and every URL that failed or was skipped, with the reason."""

    documents: list[Document] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # key (the URL), code, reason
    skipped: list[str] = field(default_factory=list)


def check_start_url(url: str, allow_private: bool) -> str:
    """The start URL if it is http(s) and its host resolves to public addresses only (unless ``allow_private``);
    InvalidInput ``invalid_crawl_url`` or ``private_address`` otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("The crawl start must be an http:// or https:// address.", code="invalid_crawl_url")
    if not allow_private:
        check_public(parts.hostname)
    return urldefrag(url.strip())[0]


def check_public(host: str) -> None:
    """InvalidInput ``private_address`` when ``host`` resolves to a private, loopback, link-local or reserved address
    (or does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        raise InvalidInput(f"The host {host} does not resolve.", code="invalid_crawl_url") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidInput(
                f"{host} resolves to a private address ({address}); only public sites are crawled.",
                code="private_address",
            )


def crawl(start: str, limits: CrawlLimits | None = None, progress: Progress | None = None) -> CrawlResult:
    """Breadth-first from ``start`` (a page, or a sitemap ending in .xml), plus the site's sitemap.xml."""
    limits = limits or CrawlLimits()
    start = check_start_url(start, limits.allow_private)
    origin = urlsplit(start)
    host = origin.netloc
    result = CrawlResult()
    deadline = time.monotonic() + limits.total_s
    timeout = httpx.Timeout(limits.timeout_s, connect=min(5.0, limits.timeout_s))
    with httpx.Client(
        timeout=timeout, follow_redirects=True, max_redirects=5, headers={"User-Agent": USER_AGENT}
    ) as client:
        robots = _robots(client, f"{origin.scheme}://{host}/robots.txt", result)
        seeds = _sitemap_urls(client, start, robots, host, result) if start.endswith(".xml") else [start]
        if not start.endswith(".xml"):
            for sitemap in [*(robots.site_maps() or []), f"{origin.scheme}://{host}/sitemap.xml"]:
                seeds += _sitemap_urls(client, sitemap, robots, host, result)
        queue = deque((url, 0) for url in dict.fromkeys(seeds))
        seen = {url for url, _ in queue}
        fetched = 0
        while queue and fetched < limits.max_pages:
            url, depth = queue.popleft()
            if time.monotonic() > deadline:
                result.failed.append({"key": url, "code": "crawl_time_limit", "reason": "the crawl ran out of time"})
                break
            if not robots.can_fetch(USER_AGENT, url):
                result.skipped.append(url)
                continue
            fetched += 1
            if progress is not None:
                progress(fetched, min(limits.max_pages, fetched + len(queue)), url)
            page = _fetch(client, url, host, limits, result)
            if page is None:
                continue
            final, html = page
            doc = from_html(final, html, final)
            if doc is None:
                result.failed.append({"key": final, "code": "no_text", "reason": "no readable text on the page"})
            elif all(d.key != doc.key for d in result.documents):
                result.documents.append(doc)
            if depth < limits.max_depth:
                for link in _links(html, final, host):
                    if link not in seen:
                        seen.add(link)
                        queue.append((link, depth + 1))
    return result


def _robots(client: httpx.Client, url: str, result: CrawlResult) -> RobotFileParser:
    parser = RobotFileParser(url)
    try:
        response = client.get(url)
    except httpx.HTTPError as err:
        reason = f"{type(err).__name__}: nothing crawled"
        result.failed.append({"key": url, "code": "robots_unreachable", "reason": reason})
        parser.disallow_all = True  # type: ignore[attr-defined]
        return parser
    if response.status_code >= 500:
        result.failed.append({"key": url, "code": "robots_unreachable", "reason": f"HTTP {response.status_code}"})
        parser.disallow_all = True  # type: ignore[attr-defined]
    elif response.status_code >= 400:
        parser.allow_all = True  # type: ignore[attr-defined]
    else:
        parser.parse(response.text.splitlines())
    return parser


def _sitemap_urls(
    client: httpx.Client, url: str, robots: RobotFileParser, host: str, result: CrawlResult, nested: bool = True
) -> list[str]:
    """Page URLs of a sitemap (one level of sitemap index followed); a missing sitemap gives none."""
    from lxml import etree

    if urlsplit(url).netloc != host:
        return []
    try:
        response = client.get(url)
    except httpx.HTTPError:
        return []
    if response.status_code != 200:
        return []
    try:
        root = etree.fromstring(response.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        result.failed.append({"key": url, "code": "invalid_sitemap", "reason": "the sitemap is not valid XML"})
        return []
    locs = [str(e.text).strip() for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("loc") and e.text]
    if root.tag.endswith("sitemapindex") and nested:
        return [u for loc in locs for u in _sitemap_urls(client, loc, robots, host, result, nested=False)]
    return [urldefrag(loc)[0] for loc in locs if urlsplit(loc).netloc == host]


def _fetch(
    client: httpx.Client, url: str, host: str, limits: CrawlLimits, result: CrawlResult
) -> tuple[str, str] | None:
    """The final URL and the HTML of a page, or None (the failure recorded)."""
    try:
        with client.stream("GET", url) as response:
            final = urldefrag(str(response.url))[0]
            if urlsplit(final).netloc != host:
                result.skipped.append(url)  # redirected to another site
                return None
            if response.status_code != 200:
                result.failed.append({"key": url, "code": f"http_{response.status_code}", "reason": "not a page"})
                return None
            if "html" not in response.headers.get("content-type", "text/html"):
                result.skipped.append(url)
                return None
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limits.max_page_bytes:
                    result.failed.append({"key": url, "code": "page_too_large", "reason": "over the page size limit"})
                    return None
    except httpx.TimeoutException:
        result.failed.append({"key": url, "code": "timeout", "reason": f"no answer within {limits.timeout_s:g} s"})
        return None
    except httpx.HTTPError as err:
        result.failed.append({"key": url, "code": "unreachable", "reason": type(err).__name__})
        return None
    return final, body.decode(response.encoding or "utf-8", errors="replace")


def _links(html: str, base: str, host: str) -> list[str]:
    """Same-host http(s) links of a page, without fragments, skipping files that are not pages."""
    from lxml import html as lxml_html
    from lxml.etree import ParserError

    try:
        tree = lxml_html.fromstring(html)
    except (ParserError, ValueError):
        return []
    out: list[str] = []
    for element in tree.iter("a"):
        href = element.get("href")
        if not href:
            continue
        url = urldefrag(urljoin(base, href))[0]
        parts = urlsplit(url)
        page = not parts.path.lower().endswith(SKIP_SUFFIXES)
        if parts.scheme in ("http", "https") and parts.netloc == host and page:
            out.append(url)
    return list(dict.fromkeys(out))
