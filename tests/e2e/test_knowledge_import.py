"""End to end: a small docs site served by a local HTTP server is crawled (sitemap, robots.txt, a redirect, broken
pages), its pages answer the visitors' questions with citations, a re-import updates changed pages and leaves edited
ones alone; uploads of Markdown, HTML and ZIPs, and the bad ones refused with stable codes."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from chatassist.bootstrap import Container
from tests.conftest import chat
from tests.fakes.llm_server import FakeLLMServer, Script
from tests.support.accounts import Person, sign_up

PAGE = """<!doctype html><html><head><title>{title} | Acme Docs</title></head><body>
<nav><a href="/docs/">Docs home</a> <a href="/docs/timer">Timer</a> <a href="/docs/sso">SSO</a></nav>
<main><article><h1>{title}</h1>{body}</article></main>
<footer>Copyright Acme Inc. All rights reserved. <a href="/private/secret">Internal</a></footer></body></html>"""


class DocsSite:
    """A docs site on a local port; ``pages`` can be changed between crawls; ``requests`` records every path."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.pages: dict[str, tuple[str, str]] = {
            "/docs/": ("Acme documentation", "<p>Welcome to the Acme docs. Start with <a href='/docs/timer'>timers"
                       "</a>, <a href='/docs/sso'>single sign-on</a>, <a href='/old-calendar'>calendars</a> or "
                       "<a href='/docs/missing'>the FAQ</a>.</p>"),
            "/docs/timer": ("Time tracking", "<p>Start a timer on any task from its clock icon. Timesheets are "
                            "locked every Friday at 18:00 and can be reviewed by a manager under Reports.</p>"),
            "/docs/sso": ("Single sign-on", "<p>Single sign-on with Okta or Azure AD is configured under Settings, "
                          "Security, SSO: paste the SAML metadata URL of your identity provider and verify.</p>"),
            "/docs/calendar": ("Calendar sync", "<p>Connect Google Calendar or Outlook under Settings, Calendar: "
                               "every due date then appears as an all-day event in your calendar.</p>"),
            "/private/secret": ("Secret", "<p>Internal notes that robots.txt keeps out of any crawl.</p>"),
        }  # fmt: skip
        site = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path == "/robots.txt":
                    self._send(200, "text/plain", f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n")
                elif self.path == "/sitemap.xml":
                    urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in ("/docs/sso", "/docs/broken"))
                    body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}'
                    self._send(200, "application/xml", body + "</urlset>")
                elif self.path == "/old-calendar":
                    self.send_response(301)
                    self.send_header("Location", "/docs/calendar")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/docs/broken":
                    self._send(500, "text/plain", "Internal Server Error")
                elif self.path in site.pages:
                    title, body = site.pages[self.path]
                    self._send(200, "text/html; charset=utf-8", PAGE.format(title=title, body=body))
                else:
                    self._send(404, "text/html", "<h1>Not found</h1>")

            def _send(self, status: int, content_type: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[DocsSite]:
    docs = DocsSite()
    yield docs
    docs.stop()


@pytest.fixture
def private_allowed(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    """The development setting CHATASSIST_CRAWL_ALLOW_PRIVATE, on for this test (the site is on 127.0.0.1)."""
    monkeypatch.setattr(container.app, "knowledge_allow_private", True)


def admin_of(client: httpx.Client) -> tuple[Person, str]:
    admin, body = sign_up(client)
    return admin, body["widget_key"]


def crawl(client: httpx.Client, admin: Person, url: str, **extra: Any) -> httpx.Response:
    return client.post("/api/knowledge/import/crawl", json={"url": url, **extra}, headers=admin.headers, timeout=60)


def reply_text(events: list[tuple[str, Any]]) -> str:
    return "".join(d["text"] for name, d in events if name == "delta")


@pytest.mark.usefixtures("private_allowed")
def test_a_docs_site_is_crawled_and_answers_with_citations(
    offline_client: httpx.Client, container: Container, site: DocsSite
) -> None:
    # Given a workspace and a docs site with a sitemap, robots.txt, a redirect, a broken and a missing page
    admin, widget_key = admin_of(offline_client)
    # When the admin imports it from its start page
    response = crawl(offline_client, admin, site.url + "/docs/")
    # I expect the pages imported (the redirect followed to its target), each failure named, robots.txt honoured
    assert response.status_code == 200, response.text
    report = response.json()
    failed = {f["key"]: f["code"] for f in report["failed"]}
    assert failed == {site.url + "/docs/broken": "http_500", site.url + "/docs/missing": "http_404"}
    assert "/private/secret" not in site.requests and site.url + "/private/secret" in report["skipped"]
    container.wait_for_projections()
    articles = offline_client.get("/api/knowledge/articles?limit=100", headers=admin.headers).json()["articles"]
    by_url = {a["url"]: a for a in articles if a["source"] == "crawl"}
    for path in ("/docs/timer", "/docs/sso", "/docs/calendar"):
        assert site.url + path in by_url, (path, list(by_url))
    assert site.url + "/old-calendar" not in by_url
    assert len(report["created"]) == len(by_url)
    # When a visitor asks a question one page answers
    events = chat(offline_client, widget_key, "How do I sync due dates with Google Calendar?")
    # I expect that page's text, cited with its address (where the redirect led)
    assert "every due date then appears as an all-day event" in reply_text(events)
    citation = events[-1][1]["citations"][0]
    assert citation["url"] == site.url + "/docs/calendar" and citation["title"] == "Calendar sync"

    # Given the admin edits the SSO article, and the site changes its time tracking page
    sso = by_url[site.url + "/docs/sso"]
    edited = {"body": "SSO is set up for you by our onboarding team."}
    assert offline_client.patch(f"/api/knowledge/articles/{sso['id']}", json=edited, headers=admin.headers).is_success
    site.pages["/docs/timer"] = ("Time tracking", "<p>Start a timer on any task from its clock icon. Timesheets "
                                 "are now locked every Monday at 09:00.</p>")  # fmt: skip
    # When the site is imported again
    again = crawl(offline_client, admin, site.url + "/docs/").json()
    # I expect the changed page updated, the edited article left alone, the others unchanged, nothing created
    assert again["updated"] == [by_url[site.url + "/docs/timer"]["id"]]
    assert again["kept_edited"] == [sso["id"]]
    assert by_url[site.url + "/docs/calendar"]["id"] in again["unchanged"] and again["created"] == []
    assert "Monday at 09:00" in reply_text(chat(offline_client, widget_key, "When are timesheets locked?"))
    assert "onboarding team" in reply_text(chat(offline_client, widget_key, "How do I set up SSO with Okta?"))
    # When a visitor asks what no page covers
    uncovered = chat(offline_client, widget_key, "Is there a Minecraft plugin?")
    # I expect the question in the knowledge gaps, with its conversation
    container.wait_for_projections()
    gaps = offline_client.get("/api/knowledge/gaps", headers=admin.headers).json()["gaps"]
    assert [(g["example"], g["conversations"]) for g in gaps] == [
        ("Is there a Minecraft plugin?", [uncovered[0][1]["conversation_id"]])
    ]


@pytest.mark.usefixtures("private_allowed")
def test_a_crawled_page_is_what_the_model_is_given_and_cites(
    client: httpx.Client, container: Container, site: DocsSite, fake_llm: FakeLLMServer
) -> None:
    # Given the docs site imported, and a model (the fake Anthropic server) that cites what it was given
    admin, widget_key = admin_of(client)
    assert crawl(client, admin, site.url + "/docs/").status_code == 200
    container.wait_for_projections()
    articles = client.get("/api/knowledge/articles?limit=100", headers=admin.headers).json()["articles"]
    timer = next(a["id"] for a in articles if a["url"] == site.url + "/docs/timer")
    trailer = f"<confidence>0.9</confidence><topic>Other</topic><sources>{timer}</sources>"
    fake_llm.enqueue("anthropic", Script(text=f"Every Friday at 18:00.\n{trailer}"))
    # When a visitor asks when timesheets lock
    events = chat(client, widget_key, "When are timesheets locked?")
    # I expect the page's text and id in the model's prompt, and the page cited with its address
    system = fake_llm.requests_for("anthropic")[-1].json["system"][0]["text"]
    assert f"(id: {timer})" in system and "locked every Friday at 18:00" in system
    assert reply_text(events) == "Every Friday at 18:00."
    assert events[-1][1]["citations"] == [
        {"article_id": timer, "version": 1, "title": "Time tracking", "url": site.url + "/docs/timer"}
    ]


def test_a_crawl_of_a_private_address_is_refused(offline_client: httpx.Client, site: DocsSite) -> None:
    # Given the default settings (private addresses not allowed)
    admin, _ = admin_of(offline_client)
    # When the admin asks to crawl a local address, or something that is not http(s)
    refused = crawl(offline_client, admin, site.url + "/docs/")
    not_web = crawl(offline_client, admin, "file:///etc/passwd")
    # I expect 422 with stable codes, and the site never contacted
    assert (refused.status_code, refused.json()["code"]) == (422, "private_address")
    assert (not_web.status_code, not_web.json()["code"]) == (422, "invalid_crawl_url")
    assert site.requests == []


def upload(client: httpx.Client, admin: Person, *files: tuple[str, bytes], **params: Any) -> httpx.Response:
    parts = [("data", (name, data)) for name, data in files]
    return client.post("/api/knowledge/import/files", files=parts, params=params, headers=admin.headers)


def zipped(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_markdown_html_and_zip_uploads_become_articles(offline_client: httpx.Client, container: Container) -> None:
    # Given a workspace
    admin, widget_key = admin_of(offline_client)
    markdown = b"# Swimlanes\n\nGroup the cards of a board into swimlanes by assignee or priority from the View menu."
    html = PAGE.format(title="Guest access", body="<p>Guests can view a project but never edit its tasks.</p>")
    archive = zipped({"docs/audit.md": b"# Audit trail\n\nEvery change is kept in the audit trail for two years.",
                      "docs/logo.png": b"\x89PNG", "docs/": b""})  # fmt: skip
    # When the admin uploads a Markdown file, an HTML file and a ZIP
    response = upload(offline_client, admin, ("swimlanes.md", markdown), ("guests.html", html.encode()),
                      ("docs.zip", archive))  # fmt: skip
    # I expect three articles, the image skipped, and each one answering
    assert response.status_code == 200, response.text
    report = response.json()
    assert len(report["created"]) == 3 and report["skipped"] == ["docs/logo.png"]
    assert "by assignee or priority" in reply_text(
        chat(offline_client, widget_key, "How do I group cards into swimlanes?")
    )
    assert "two years" in reply_text(chat(offline_client, widget_key, "How long is the audit trail kept?"))
    assert "never edit" in reply_text(chat(offline_client, widget_key, "Can guests edit tasks?"))
    # When the same files are uploaded again, unchanged
    again = upload(offline_client, admin, ("swimlanes.md", markdown)).json()
    # I expect nothing written
    assert again["unchanged"] == [report["created"][0]] and again["created"] == again["updated"] == []


def test_each_file_is_indexed_in_its_own_language(offline_client: httpx.Client, container: Container) -> None:
    # Given a workspace, and files declaring their language: Markdown front matter, HTML lang, and Japanese (which
    # PostgreSQL has no text search configuration for)
    admin, widget_key = admin_of(offline_client)
    spanish = "---\nlang: es\n---\n# Facturas\n\nLas facturas se descargan en PDF desde Ajustes, Facturación.".encode()
    french = PAGE.format(title="Factures", body="<p>Les factures se téléchargent depuis Réglages.</p>")
    french = french.replace("<html>", '<html lang="fr-CA">')
    japanese = "---\nlanguage: ja\n---\n# 請求書\n\n請求書 は 設定 から ダウンロード できます。".encode()
    # When they are uploaded with the default language (auto)
    response = upload(offline_client, admin, ("facturas.md", spanish), ("factures.html", french.encode()),
                      ("seikyusho.md", japanese), ("plain.md", b"# Plain\n\nNo language declared here."))  # fmt: skip
    assert response.status_code == 200, response.text
    container.wait_for_projections()
    listed = offline_client.get("/api/knowledge/articles?limit=100", headers=admin.headers).json()["articles"]
    # I expect each article in its declared language, English for the one declaring none
    languages = {a["title"]: a["language"] for a in listed if a["source"] == "upload"}
    assert languages == {"Facturas": "es", "Factures": "fr", "請求書": "ja", "Plain": "en"}
    # and a Spanish question finding the Spanish article through Spanish stemming (factura ~ facturas)
    events = chat(offline_client, widget_key, "¿Dónde descargo la factura?")
    assert [c["title"] for c in events[-1][1]["citations"]] == ["Facturas"]
    # and the Japanese one found word for word
    events = chat(offline_client, widget_key, "請求書 ダウンロード")
    assert [c["title"] for c in events[-1][1]["citations"]] == ["請求書"]
    # When the admin chooses a language for the whole upload
    forced = upload(offline_client, admin, ("hilfe.md", b"# Hilfe\n\nRechnungen stehen unter Einstellungen."),
                    language="de").json()  # fmt: skip
    # I expect it used
    container.wait_for_projections()
    article = offline_client.get(f"/api/knowledge/articles/{forced['created'][0]}", headers=admin.headers).json()
    assert article["language"] == "de"
    # When the language is not a language code
    bad = upload(offline_client, admin, ("x.md", b"# X\n\nx"), language="english please")
    crawl_bad = crawl(offline_client, admin, "https://docs.example.com/", language="12")
    # I expect 422 invalid_language, nothing written
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_language")
    assert (crawl_bad.status_code, crawl_bad.json()["code"]) == (422, "invalid_language")
    assert "ISO 639" in bad.json()["message"]


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("notes.pdf", b"%PDF-1.7", "unsupported_file_type"),
        ("evil.zip", zipped({"../../etc/cron.d/x.md": b"# x\n\nx"}), "zip_path_traversal"),
        ("abs.zip", zipped({"/etc/passwd.md": b"# x\n\nx"}), "zip_path_traversal"),
        ("bomb.zip", zipped({"bomb.md": b"# a\n\n" + b"a" * 3_000_000}), "zip_bomb"),
        ("broken.zip", b"PK\x03\x04 not really a zip", "invalid_zip"),
        ("latin1.md", "# Caf\xe9\n\nna\xefve".encode("latin-1"), "not_text"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(
    offline_client: httpx.Client, container: Container, name: str, data: bytes, code: str
) -> None:
    # Given a workspace, and a good file uploaded along with the bad one
    admin, _ = admin_of(offline_client)
    good = ("good.md", b"# Good\n\nA good article.")
    # When the admin uploads them
    response = upload(offline_client, admin, good, (name, data))
    # I expect 422 with a stable code, and not even the good file imported
    assert (response.status_code, response.json()["code"]) == (422, code), response.text
    container.wait_for_projections()
    listed = offline_client.get("/api/knowledge/articles", headers=admin.headers).json()["articles"]
    assert [a for a in listed if a["source"] == "upload"] == []


@pytest.mark.parametrize(
    ("content", "form"),
    [
        (b"--x--\r\n", "an empty form"),
        (b'--x\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n--x--\r\n', "a text field only"),
    ],
)
def test_an_upload_with_no_file_is_refused_not_a_server_error(
    offline_client: httpx.Client, content: bytes, form: str
) -> None:
    # Given an Admin (the fuzz test sent an empty multipart form: Litestar raised IndexError, a 500)
    admin, _ = admin_of(offline_client)
    # When the admin posts a form without a file
    response = offline_client.post(
        "/api/knowledge/import/files",
        content=content,
        headers={**admin.headers, "Content-Type": "multipart/form-data; boundary=x"},
    )
    # I expect a 422 no_files naming what to send
    assert (response.status_code, response.json()["code"]) == (422, "no_files"), (form, response.text)
    assert "Attach at least one file" in response.json()["message"]


def test_the_cli_imports_a_directory_and_crawls_a_site(
    offline_client: httpx.Client, container: Container, site: DocsSite, tmp_path: Any
) -> None:
    from tests.e2e.test_rebuild import cli

    # Given a workspace, a directory of help files, and the docs site
    admin, widget_key = admin_of(offline_client)
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "dark-mode.md").write_text("# Dark mode\n\nSwitch to dark mode under Profile > Appearance.")
    (tmp_path / "guides" / "notes.txt").write_text("not imported")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATASSIST_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": container.database_url, "REDIS_URL": container.redis_url,
                "CHATASSIST_DB_POOL_SIZE": "1"})  # fmt: skip
    # When the directory is imported from the command line
    done = cli("knowledge", "import", str(tmp_path / "guides"), "--workspace", admin.workspace_id, env=env)
    # I expect its Markdown file imported, the other listed as skipped, and an answer from it
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["created"]) == 1 and report["skipped"] == ["notes.txt"]
    assert "Profile > Appearance" in reply_text(chat(offline_client, widget_key, "How do I turn on dark mode?"))
    # When the site is crawled from the command line without the development setting
    refused = cli("knowledge", "import", site.url + "/docs/", "--workspace", admin.workspace_id, env=env)
    # I expect a refusal naming the reason, and the site untouched
    assert refused.returncode != 0 and "private address" in refused.stderr and site.requests == []
    # When the setting allows it
    env["CHATASSIST_CRAWL_ALLOW_PRIVATE"] = "true"
    crawled = cli("knowledge", "import", site.url + "/docs/", "--workspace", admin.workspace_id, env=env)
    # I expect the pages imported with one progress line per page (not a terminal)
    assert crawled.returncode == 0, crawled.stderr
    assert len(json.loads(crawled.stdout)["created"]) >= 3
    assert crawled.stderr.count("/docs/") >= 3 and "\r" not in crawled.stderr


class BadSite:
    """A site whose robots.txt lists a broken sitemap, whose start page links to a page that hangs and to pages that
    answer garbage (random bytes, an empty body) as HTML."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                links = "".join(f"<a href='/{p}'>{p}</a> " for p in ("hangs", "noise", "empty"))
                text = "Welcome to the help centre. It has three more pages, each about one part of the product:"
                start = f"<html><head><title>Start</title></head><body><article><h1>Start</h1><p>{text} {links}</p>"
                pages = {
                    "/robots.txt": ("text/plain", f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode()),
                    "/sitemap.xml": ("application/xml", b"<urlset><url><loc>unclosed"),
                    "/": ("text/html", (start + "</article></body></html>").encode()),
                    "/noise": ("text/html", bytes(range(256)) * 40),
                    "/empty": ("text/html", b""),
                }
                if self.path == "/hangs":
                    time.sleep(3)  # longer than the crawl's per-request timeout
                content_type, data = pages.get(self.path, ("text/html", b"<p>late</p>"))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the crawler gave up on /hangs
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_site_that_hangs_or_answers_garbage_is_named_page_by_page() -> None:
    from commands.import_knowledge import crawl as crawler

    # Given a site with a broken sitemap, a page that hangs and pages of garbage
    bad = BadSite()
    try:
        # When it is crawled with a 1 s timeout per request
        result = crawler.crawl(bad.url + "/", crawler.CrawlLimits(timeout_s=1.0, allow_private=True))
    finally:
        bad.server.shutdown()
        bad.server.server_close()
    # I expect the start page imported and every other failure named with its code, nothing else imported
    assert [d.title for d in result.documents] == ["Start"]
    failed = {f["key"].removeprefix(bad.url): f["code"] for f in result.failed}
    assert failed == {"/sitemap.xml": "invalid_sitemap", "/hangs": "timeout", "/noise": "no_text", "/empty": "no_text"}
