"""The embeddable widget in a real browser (Debian's Chromium driven by Playwright).

Given the demo page with the widget, when a visitor asks a question, I expect the answer to stream into an
"AI" bubble with the offline note, and after a reload the same conversation to be shown again.

By default the widget talks to a small fake backend started here (``widget_server``). With
``CHATASSIST_E2E_BASE_URL`` and ``CHATASSIST_E2E_WIDGET_KEY`` set, the tests that do not need scripted
answers run against that real server instead.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sync_api = pytest.importorskip(
    "playwright.sync_api",
    exc_type=ImportError,
    reason="needs the playwright package (pip install playwright)",
)
expect = sync_api.expect

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
CHROMIUM = os.environ.get("CHATASSIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = os.environ.get("CHATASSIST_E2E_SCREENSHOT", "/tmp/widget.png")
FAKE_KEY = "wk_demo_test"
QUESTION = "How do refunds work?"
ANSWER_PARTS = ["Refunds are ", "available within 30 days ", "of purchase."]
OFFLINE_NOTE = "Answered from help articles (offline mode)"
TIMEOUT_MS = 30_000
STORED_ID = "k => localStorage.getItem('chatassist:conversation:' + k)"
STORED_TOKEN = "k => localStorage.getItem('chatassist:token:' + k)"


@dataclass
class Site:
    """Where the widget's page is, and the fake behind it (None for a real server)."""

    base_url: str
    widget_key: str
    fake: FakeBackend | None = None


@dataclass
class FakeBackend:
    """The fake API's state: conversations, requests seen, and a gate that holds the stream mid-answer."""

    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)  # conversation id -> its visitor token
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)


def sse(event: str, data: dict[str, Any], newline: str = "\n") -> bytes:
    """One server-sent event."""
    return f"event: {event}{newline}data: {json.dumps(data)}{newline}{newline}".encode()


def make_handler(fake: FakeBackend) -> type[BaseHTTPRequestHandler]:
    """A request handler speaking the widget's slice of the ChatAssist API."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status: int, code: str, message: str) -> None:
            self.reply(status, json.dumps({"code": code, "message": message}).encode(), "application/json")

        def token_refused(self, conversation_id: str) -> bool:
            """As the real API: the widget key alone opens no conversation (answers the refusal if so)."""
            token = self.headers.get("X-Visitor-Token")
            if not token:
                self.error(401, "visitor_token_required", "Send the conversation's visitor token.")
            elif fake.tokens.get(conversation_id) != token:
                self.error(403, "invalid_visitor_token", "This visitor token does not open this conversation.")
            else:
                return False
            return True

        def chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def do_GET(self) -> None:
            if self.path == "/demo":  # where the real app serves the demo page
                page = (STATIC / "demo.html").read_text()
                page = page.replace("{{ widget_key }}", FAKE_KEY)
                page = page.replace("{{ mode_note }}", "Offline mode: answers come from the help articles.")
                self.reply(200, page.encode(), "text/html; charset=utf-8")
            elif self.path == "/widget.js":
                self.reply(200, (STATIC / "widget.js").read_bytes(), "application/javascript")
            elif match := re.fullmatch(r"/api/conversations/([^/?]+)", self.path):
                if self.headers.get("X-Widget-Key") != FAKE_KEY:
                    self.error(401, "unknown_widget_key", "Unknown widget key.")
                elif not self.headers.get("X-Visitor-Token"):
                    self.token_refused(match[1])
                elif (messages := fake.conversations.get(match[1])) is None:
                    self.error(404, "conversation_not_found", f"No conversation with id {match[1]}.")
                elif not self.token_refused(match[1]):
                    body = {"id": match[1], "status": "open", "messages": messages}
                    self.reply(200, json.dumps(body).encode(), "application/json")
            else:
                self.error(404, "not_found", "Not found.")

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if match := re.fullmatch(r"/api/conversations/([^/?]+)/close", self.path):
                if not self.token_refused(match[1]):
                    fake.closed.add(match[1])
                    self.reply(200, b'{"ok": true}', "application/json")
                return
            if self.path != "/api/chat":
                self.error(404, "not_found", "Not found.")
                return
            fake.chat_requests.append({"body": body, "headers": dict(self.headers.items())})
            if self.headers.get("X-Widget-Key") != FAKE_KEY:
                self.error(401, "unknown_widget_key", "Unknown widget key.")
                return
            if body["message"] == "fail please":
                self.error(503, "providers_unavailable", "The assistant is unavailable right now.")
                return
            conversation_id = body.get("conversation_id") or str(uuid.uuid4())
            if conversation_id not in fake.conversations and body.get("conversation_id"):
                self.error(404, "conversation_not_found", "This conversation no longer exists.")
                return
            if body.get("conversation_id") and self.token_refused(conversation_id):
                return
            if conversation_id in fake.closed:
                self.error(409, "conversation_closed", "This conversation is closed.")
                return
            start = {"conversation_id": conversation_id, "message_id": "m1"}
            if not body.get("conversation_id"):
                start["visitor_token"] = fake.tokens[conversation_id] = "vt_" + uuid.uuid4().hex
            history = fake.conversations.setdefault(conversation_id, [])
            history.append(
                {
                    "role": "user",
                    "text": body["message"],
                    "at": "2026-11-24T10:00:00Z",
                    "model": None,
                    "provider": None,
                }
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.chunk(sse("start", start))
            if body["message"] == "restart please":
                self.chunk(sse("delta", {"text": "Half an answ"}))
                self.chunk(sse("restart", {"reason": "overloaded", "provider": "openai", "model": "gpt-x"}))
                parts = ["A fresh answer."]
            else:
                parts = ANSWER_PARTS
            # The first delta, then hold until the test has seen it: proves the bubble fills live.
            first = sse("delta", {"text": parts[0]}, newline="\r\n")
            self.chunk(first[:9])  # split inside the event name
            self.chunk(first[9:])
            fake.gate.wait(10)
            rest = b"".join(sse("delta", {"text": p}) for p in parts[1:])
            done = {
                "message_id": "m2",
                "reply_to": "m1",
                "usage": {"input_tokens": 0, "output_tokens": 0},
                "cost_usd": None,
                "confidence": 0.8,
                "topic": "billing",
                "provider": "offline",
                "model": "offline-retrieval",
                "prompt_version": 1,
                "attempts": 1,
                "offline": True,
            }
            rest += sse("done", done)
            for i in range(0, len(rest), 23):  # chunks that split lines and events anywhere
                self.chunk(rest[i : i + 23])
            self.chunk(b"")  # the empty chunk ends the response
            history.append(
                {
                    "role": "assistant",
                    "text": "".join(parts),
                    "at": "2026-11-24T10:00:01Z",
                    "model": "offline-retrieval",
                    "provider": "offline",
                }
            )

    return Handler


@pytest.fixture(params=["fake", "real"])
def widget_server(request: pytest.FixtureRequest) -> Iterator[Site]:
    """The widget against the real app (offline answerer, real PostgreSQL) and against a scripted fake backend.

    The fake lets a test hold the stream mid-answer and script restarts and errors; the real app proves the
    widget speaks the actual API. CHATASSIST_E2E_BASE_URL (+ _WIDGET_KEY) points "real" at a running server.
    """
    if request.param == "real":
        base_url = os.environ.get("CHATASSIST_E2E_BASE_URL")
        if base_url:
            key = os.environ.get("CHATASSIST_E2E_WIDGET_KEY")
            if not key:
                pytest.fail("CHATASSIST_E2E_BASE_URL is set but CHATASSIST_E2E_WIDGET_KEY is not")
            yield Site(base_url.rstrip("/"), key)
            return
        yield from _real_app(request)
        return
    fake = FakeBackend()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, name="fake-chatassist", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", FAKE_KEY, fake)
    finally:
        fake.gate.set()
        server.shutdown()
        server.server_close()


def _real_app(request: pytest.FixtureRequest) -> Iterator[Site]:
    from chatassist.cli import ready_checks
    from commands.ai.orchestrator import RetryPolicy
    from commands.chat_turn.service import ChatService, Providers
    from commands.create_workspace import cmd as create_ws
    from tests.support.server import ThreadedServer
    from web.app import create_app

    container = request.getfixturevalue("container")
    created = create_ws.execute(container.app, create_ws.CreateWorkspace("Acme Analytics"))
    chat = ChatService(container.app, Providers(), container.usage, RetryPolicy())
    app = create_app(
        chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        demo_widget_key=created.widget_key,
        mode_note="Offline mode: answers come from the help articles.",
    )
    server = ThreadedServer(app).start()
    try:
        yield Site(server.base_url, created.widget_key)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (Playwright's own browser download does not work here)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (empty localStorage); fails the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def open_widget(page: Any) -> None:
    """Click the launcher and wait for the panel."""
    page.get_by_role("button", name="Open support chat").click()
    expect(page.get_by_role("dialog", name="Acme support")).to_be_visible()


def ask(page: Any, text: str) -> None:
    """Type into the widget and press Enter."""
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")


def widget_headers(page: Any, site: Site) -> dict[str, str]:
    """What the widget sends about its conversation: the key and the visitor token it keeps."""
    return {"X-Widget-Key": site.widget_key, "X-Visitor-Token": page.evaluate(STORED_TOKEN, site.widget_key)}


def wait_for_transcript(page: Any, site: Site, conversation_id: str) -> None:
    """The real server projects the transcript asynchronously: wait until the answer is readable."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        res = page.request.get(
            f"{site.base_url}/api/conversations/{conversation_id}", headers=widget_headers(page, site)
        )
        if res.ok and any(m["role"] == "assistant" for m in res.json()["messages"]):
            return
        time.sleep(0.2)
    pytest.fail(f"conversation {conversation_id} has no assistant message after 15 s")


def test_visitor_asks_sees_streamed_answer_and_finds_it_after_reload(widget_server: Site, page: Any) -> None:
    site, fake = widget_server, widget_server.fake
    page.goto(site.base_url + "/demo")
    open_widget(page)
    ask(page, QUESTION)

    expect(page.locator(".row.user .text")).to_have_text([QUESTION])
    answer = page.locator(".row.assistant").last
    send = page.get_by_role("button", name="Send message")
    if fake is not None:
        expect(answer.locator(".text")).to_have_text(ANSWER_PARTS[0])  # live, before the answer is complete
        expect(send).to_be_disabled()
        fake.gate.set()
    expect(answer.locator(".note")).to_have_text(OFFLINE_NOTE)
    expect(send).to_be_enabled()
    expect(answer.locator(".who")).to_have_text("AI Assistant")
    expect(page.locator(".row.user .who")).to_have_text(["You"])
    expect(answer.locator("time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}( [AP]M)?$"))
    answer_text = answer.locator(".text").inner_text()
    if fake is not None:
        assert answer_text == "".join(ANSWER_PARTS)
        request = fake.chat_requests[0]
        assert request["headers"]["X-Widget-Key"] == FAKE_KEY
        assert request["headers"]["Accept"] == "text/event-stream"
        assert request["body"]["conversation_id"] is None
        assert request["body"]["user"]["id"].startswith("anon_")
    else:
        assert answer_text.strip()
    page.screenshot(path=SCREENSHOT)

    conversation_id = page.evaluate(STORED_ID, site.widget_key)
    assert conversation_id, "the widget did not keep the conversation id"
    wait_for_transcript(page, site, conversation_id)

    page.reload()
    open_widget(page)
    expect(page.locator(".row.user .text")).to_have_text([QUESTION])
    expect(page.locator(".row.assistant .text")).to_have_text([answer_text])
    expect(page.locator(".row.assistant .note")).to_have_text([OFFLINE_NOTE])

    if fake is not None:  # the next message continues the same conversation
        ask(page, "And for annual plans?")
        expect(page.locator(".row.assistant .note")).to_have_count(2)
        assert fake.chat_requests[1]["body"]["conversation_id"] == conversation_id
        assert fake.chat_requests[1]["body"]["user"]["id"] == fake.chat_requests[0]["body"]["user"]["id"]
        # with the visitor token the first answer gave it, never sent before there was a conversation
        assert "X-Visitor-Token" not in fake.chat_requests[0]["headers"]
        assert fake.chat_requests[1]["headers"]["X-Visitor-Token"] == fake.tokens[conversation_id]


@pytest.mark.parametrize("widget_server", ["real"], indirect=True)
def test_the_articles_an_answer_cites_are_links_under_it(
    widget_server: Site, page: Any, request: pytest.FixtureRequest
) -> None:
    from commands._common import workspace_id_for_key
    from commands.import_knowledge import cmd as importer
    from commands.import_knowledge.files import Document, digest

    # Given the workspace has an article with a web address
    container = request.getfixturevalue("container")
    body = "Switch the board to dark mode under Profile > Appearance > Theme."
    doc = Document("dark-mode", "Dark mode", body, "https://help.example.com/dark-mode", digest(body))
    workspace_id = workspace_id_for_key(container.app, widget_server.widget_key)
    importer.execute(container.app, importer.ImportKnowledge(workspace_id, [doc], "upload"))
    # When a visitor asks about it
    page.goto(widget_server.base_url + "/demo")
    open_widget(page)
    ask(page, "How do I switch to dark mode?")
    # I expect the answer, and under it a link to the article
    answer = page.locator(".row.assistant").last
    expect(answer.locator(".text")).to_contain_text("Profile > Appearance > Theme")
    link = answer.locator(".sources a")
    expect(link).to_have_text("Dark mode")
    expect(link).to_have_attribute("href", "https://help.example.com/dark-mode")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    # and the link again after a reload (from the transcript)
    conversation_id = page.evaluate(STORED_ID, widget_server.widget_key)
    container.wait_for_projections()
    wait_for_transcript(page, widget_server, conversation_id)
    page.reload()
    open_widget(page)
    expect(page.locator(".row.assistant .sources a")).to_have_text(["Dark mode"])


@pytest.mark.parametrize("widget_server", ["fake"], indirect=True)  # scripted restarts and failures
def test_restart_clears_the_bubble_and_errors_become_notices(widget_server: Site, page: Any) -> None:
    fake = widget_server.fake
    assert fake is not None
    page.goto(widget_server.base_url + "/demo")
    page.evaluate("k => localStorage.setItem('chatassist:conversation:' + k, 'gone')", FAKE_KEY)
    open_widget(page)  # GET 404 (after brief retries): the stale id is forgotten
    expect(page.locator(".row")).to_have_count(0)
    page.wait_for_function("k => localStorage.getItem('chatassist:conversation:' + k) === null", arg=FAKE_KEY)

    fake.gate.set()
    ask(page, "restart please")
    expect(page.locator(".row.assistant .text")).to_have_text(["A fresh answer."])

    ask(page, "fail please")
    expect(page.locator(".row.system .text")).to_have_text(["The assistant is unavailable right now."])
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()
    assert page.locator(".row.assistant").count() == 1


def test_a_closed_conversation_is_forgotten_and_the_next_message_starts_a_new_one(
    widget_server: Site, page: Any
) -> None:
    site = widget_server
    if site.fake is not None:
        site.fake.gate.set()
    page.goto(site.base_url + "/demo")
    open_widget(page)
    ask(page, QUESTION)
    expect(page.locator(".row.assistant .note")).to_have_count(1)
    first = page.evaluate(STORED_ID, site.widget_key)
    closed = page.request.post(f"{site.base_url}/api/conversations/{first}/close", headers=widget_headers(page, site))
    assert closed.ok, closed.text()

    ask(page, "One more thing")  # 409 conversation_closed
    expect(page.locator(".row.system .text")).to_have_text(
        ["This conversation has ended. Send your message again to start a new one."]
    )
    expect(page.get_by_role("textbox", name="Your message")).to_have_value("One more thing")
    assert page.evaluate(STORED_ID, site.widget_key) is None

    page.get_by_role("button", name="Send message").click()
    expect(page.locator(".row.assistant .note")).to_have_count(2)
    second = page.evaluate(STORED_ID, site.widget_key)
    assert second and second != first


@pytest.mark.parametrize("widget_server", ["real"], indirect=True)  # the agent acts on the real event store
def test_an_agents_reply_appears_live_in_the_widget_marked_as_a_person(
    widget_server: Site, page: Any, request: pytest.FixtureRequest
) -> None:
    if os.environ.get("CHATASSIST_E2E_BASE_URL"):
        pytest.skip("the agent acts through the in-process event store")
    from commands.claim_conversation import cmd as claim_cmd
    from commands.reply_as_agent import cmd as reply_cmd
    from domain.account import Account
    from web.live import ConversationSignals

    container = request.getfixturevalue("container")
    site = widget_server
    # Given a visitor who asked for a person in the widget
    page.goto(site.base_url + "/demo")
    open_widget(page)
    ask(page, "I want to talk to a human")
    expect(page.locator(".row.assistant .who")).to_have_text(["AI Assistant"])  # the holding message
    expect(page.locator(".row.system .text")).to_have_text(["A person from our team will take over this chat."])
    page.wait_for_function(STORED_ID + " !== null", arg=site.widget_key)
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()  # the turn is over
    conversation_id = page.evaluate(STORED_ID, site.widget_key)
    conversation = container.app.repository.get(uuid.UUID(conversation_id))
    # When an agent (Dana) claims the chat and replies; the web processes are woken through Redis
    agent = Account({"email": f"dana-{uuid.uuid4().hex[:8]}@example.com", "name": "Dana Scully"}, "no-password")
    container.app.save(agent)
    workspace_id, agent_id = conversation.workspace_id, str(agent.id)
    signals = ConversationSignals(container.redis)
    claim_cmd.execute(container.app, claim_cmd.ClaimConversation(workspace_id, conversation.id, agent_id))
    signals.publish(conversation.id)
    expect(page.locator(".row.system .text")).to_have_text(
        ["A person from our team will take over this chat.", "Dana joined the chat."]
    )
    reply = reply_cmd.ReplyAsAgent(workspace_id, conversation.id, agent_id, "Hi, I'm Dana. Let me check your account.")
    reply_cmd.execute(container.app, reply)
    signals.publish(conversation.id)
    # Then the message appears live, marked with the agent's name instead of "AI"
    agent_row = page.locator(".row.agent")
    expect(agent_row.locator(".text")).to_have_text(["Hi, I'm Dana. Let me check your account."])
    expect(agent_row.locator(".who")).to_have_text(["Dana"])
    # and a visitor message now gets no AI bubble (the visitor was told a person takes over)
    ask(page, "Thanks, I'll wait")
    expect(page.locator(".row.user .text")).to_have_text(["I want to talk to a human", "Thanks, I'll wait"])
    expect(page.get_by_role("button", name="Send message")).to_be_enabled()
    expect(page.locator(".row.system .text")).to_have_text(
        ["A person from our team will take over this chat.", "Dana joined the chat."]
    )
    expect(page.locator(".row.assistant")).to_have_count(1)
    page.screenshot(path=SCREENSHOT.replace(".png", "-agent.png"))
    # and after a reload the transcript shows the agent's message, still marked as a person
    container.wait_for_projections()
    page.reload()
    open_widget(page)
    expect(page.locator(".row.agent .who")).to_have_text(["Dana"])
    expect(page.locator(".row.user .text")).to_have_text(["I want to talk to a human", "Thanks, I'll wait"])


def test_the_widget_works_on_a_page_whose_csp_forbids_inline_styles_and_scripts(container: Any, browser: Any) -> None:
    # Given the real app's /demo page, served with our page CSP (script-src 'self'; style-src 'self', no inline)
    served = _real_app_for(container)
    site = next(served)
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda msg: refusals.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        response = page.goto(site.base_url + "/demo")
        csp = response.headers["content-security-policy"]
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp
        # When the visitor opens the widget and asks
        open_widget(page)
        ask(page, QUESTION)
        expect(page.locator(".row.assistant .note").last).to_have_text(OFFLINE_NOTE)
        # I expect the widget styled (its stylesheet applied in its shadow root) and nothing refused by the CSP
        launcher = page.locator(".launcher")
        assert launcher.evaluate("el => getComputedStyle(el).borderRadius") == "50%"
        assert page.locator(".panel").evaluate("el => getComputedStyle(el).position") != "static"
        assert refusals == []
    finally:
        context.close()
        served.close()


def _real_app_for(container: Any) -> Iterator[Site]:
    class _Request:
        def getfixturevalue(self, name: str) -> Any:
            assert name == "container"
            return container

    return _real_app(_Request())  # type: ignore[arg-type]


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SLACK_ANSWER = (
    "To connect Slack: 1) Go to Settings → Integrations 2) Click Add Slack 3) Authorize with your workspace admin "
    "4) Select the channel for escalation alerts. Need help with any step?"
)
SAW_TYPING = """() => {
  const root = document.querySelector("chatassist-widget").shadowRoot;
  window.__sawTyping = false;
  new MutationObserver(() => { if (root.querySelector(".typing")) window.__sawTyping = true; })
    .observe(root, { childList: true, subtree: true });
}"""


def test_the_widget_shows_the_settings_chips_names_times_badge_and_asks_for_stars(
    ai_server: Any, container: Any, fake_llm: Any, browser: Any
) -> None:
    import httpx

    from tests.fakes.llm_server import Script
    from tests.support.accounts import sign_up

    # Given a workspace whose admin chose Brand Blue, kept the default quick replies, the badge and CSAT on
    with httpx.Client(base_url=ai_server.base_url, timeout=20) as api:
        admin, body = sign_up(api, workspace="Acme Analytics")
        changed = api.patch("/api/settings", json={"widget_theme_colour": "#2563eb"}, headers=admin.headers)
        assert changed.status_code == 200, changed.text
    key = body["widget_key"]
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{ai_server.base_url}/demo?key={key}")
        open_widget(page)
        # I expect the greeting, the four chips, the "Powered by" badge naming the model, the theme colour
        expect(page.locator(".intro .who")).to_have_text("AI Assistant")
        expect(page.locator(".intro .text")).to_have_text(re.compile("AI support assistant"))
        chips = page.locator(".chips button")
        expect(chips).to_have_text(
            ["How do I connect my API?", "Download my invoice", "Reset my password", "Upgrade my plan"]
        )
        expect(page.locator(".powered")).to_have_text("Powered by Claude Sonnet 4.6")
        assert page.locator(".launcher").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(37, 99, 235)"
        # When the visitor taps a chip
        fake_llm.enqueue("anthropic", Script(text=SLACK_ANSWER, delay_s=0.3))
        page.evaluate(SAW_TYPING)
        chips.first.click()
        # I expect their message as "You", the typing dots, then the answer as "AI Assistant", both with a time
        answer = page.locator(".row.assistant").last
        expect(answer.locator(".text")).to_have_text(SLACK_ANSWER)
        expect(page.get_by_role("button", name="Send message")).to_be_enabled()
        assert page.evaluate("() => window.__sawTyping") is True
        expect(page.locator(".row.user .who")).to_have_text(["You"])
        expect(page.locator(".row.user .text")).to_have_text(["How do I connect my API?"])
        expect(answer.locator(".who")).to_have_text("AI Assistant")
        for row in (page.locator(".row.user").first, answer):
            expect(row.locator("time")).to_have_text(re.compile(r"^\d{1,2}:\d{2}( [AP]M)?$"))
        expect(page.locator(".chips")).to_have_count(0)  # the chips go once the visitor has written
        page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))
        widget_accessibility(page)
        page.set_viewport_size({"width": 390, "height": 760})
        page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))
        page.set_viewport_size({"width": 1200, "height": 800})
        conversation_id = page.evaluate(STORED_ID, key)
        # When the visitor ends the chat
        page.get_by_role("button", name="End chat").click()
        # I expect five stars asking for a rating; a click records it
        stars = page.get_by_role("group", name="How would you rate this conversation?").get_by_role("button")
        expect(stars).to_have_count(5)
        stars.nth(4).hover()
        page.locator(".panel").screenshot(path=str(SCREENSHOTS / "widget-csat.png"))
        page.get_by_role("button", name="5 of 5 stars").click()
        expect(page.locator(".csat p")).to_have_text("Thank you for your feedback!")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            events = list(container.app.events.get(uuid.UUID(conversation_id)))
            if type(events[-1]).__name__ == "CsatRated":
                break
            time.sleep(0.1)
        assert [type(e).__name__ for e in events][-2:] == ["Closed", "CsatRated"] and events[-1].score == 5
        assert page.evaluate(STORED_ID, key) is None  # the next message starts a new conversation

        # When the admin switches to German, turns the badge and CSAT off, and the team is away
        with httpx.Client(base_url=ai_server.base_url, timeout=20) as api:
            away = {day: None for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
            changes = {
                "widget_language": "de",
                "show_ai_badge": False,
                "collect_csat": False,
                "business_hours": away,
                "after_hours_auto_response": True,
                "after_hours_message": "Wir sind gerade nicht da und antworten am nächsten Werktag.",
            }
            assert api.patch("/api/settings", json=changes, headers=admin.headers).status_code == 200
        page.reload()
        page.get_by_role("button", name="Support-Chat öffnen").click()
        # I expect German words, the after-hours message, no badge, and no stars after the chat ends
        expect(page.locator(".intro .who")).to_have_text("KI-Assistent")
        expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_be_visible()
        expect(page.locator(".row.system .text")).to_have_text(
            ["Wir sind gerade nicht da und antworten am nächsten Werktag."]
        )
        expect(page.locator(".powered")).to_be_hidden()
        fake_llm.enqueue("anthropic", Script(text="Gern geschehen."))
        ask_in(page, "Danke!", "Ihre Nachricht")
        expect(page.locator(".row.assistant .text")).to_have_text(["Gern geschehen."])
        expect(page.locator(".row.user .who")).to_have_text(["Sie"])
        page.get_by_role("button", name="Chat beenden").click()
        page.wait_for_function(STORED_ID + " === null", arg=key)
        expect(page.locator(".csat")).to_have_count(0)
        page.screenshot(path=str(SCREENSHOTS / "widget-german-after-hours.png"))
        assert not errors, errors
    finally:
        context.close()


def ask_in(page: Any, text: str, box_name: str) -> None:
    """Type into the widget's message box (named in the widget's language) and press Enter."""
    box = page.get_by_role("textbox", name=box_name)
    box.fill(text)
    box.press("Enter")


def widget_accessibility(page: Any) -> None:
    """axe-core over the open widget (inside its shadow root): no serious or critical violation."""
    page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate("async () => await axe.run(document)")
    checked = [n for r in result["passes"] for n in r["nodes"] if "chatassist-widget" in json.dumps(n["target"])]
    assert len(checked) > 10, "axe did not reach into the widget's shadow root"
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {targets[:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
        and (targets := [n["target"] for n in v["nodes"] if "chatassist-widget" in json.dumps(n["target"])])
    ]
    assert not bad, "; ".join(bad)
