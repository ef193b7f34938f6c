"""Local HTTP receivers speaking the integrations' protocols: a customer's Standard Webhooks endpoint (verifying with
the ``standardwebhooks`` package) and Slack (incoming webhooks and the Web API's ``chat.postMessage``)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One request as the receiver saw it."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Script:
    """How the receiver answers: ``plan`` maps a webhook-id to statuses for its successive requests (then 204);
    ``status``: the answer to everything else; ``delay_s``: sleep before answering (a slow endpoint)."""

    status: int = 204
    plan: dict[str, list[int]] = field(default_factory=dict)
    retry_after: str | None = None
    delay_s: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Receiver:
    """A customer endpoint: verifies every request with the secrets given, applies each webhook-id once."""

    def __init__(self, port: int = 0) -> None:
        self.secrets: list[str] = []
        self.script = Script()
        self.requests: list[Received] = []
        self.applied: Counter[str] = Counter()  # webhook-id -> times applied (must stay 1)
        self.verified_with: dict[str, list[int]] = {}  # webhook-id -> indexes of the secrets that verify
        self.payloads: dict[str, Any] = {}
        self.lock = threading.Lock()
        self._port = port
        self.server: _Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                self.do_POST()

            def do_GET(self) -> None:
                self.do_POST()

            def do_DELETE(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {**dict(self.headers.items()), "x-fake-method": self.command}
                status, extra = receiver.handle(self.path, headers, body)
                location = extra.pop("__location__", None) if isinstance(extra, dict) else None
                if location is not None:  # an authorization server's redirect back to the app
                    self.send_response(status)
                    self.send_header("location", location)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                text = isinstance(extra, str)  # Slack's incoming webhooks answer plain text ("ok", "no_service")
                payload = extra.encode() if text else json.dumps(extra).encode() if extra is not None else b""
                self.send_response(status)
                if status == 429 and receiver.script.retry_after:
                    self.send_header("Retry-After", receiver.script.retry_after)
                self.send_header("content-type", "text/html" if text else "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = _Server(("127.0.0.1", self._port), Handler)
        self._port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port (connections are refused until ``start``)."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        webhook_id = lower.get("webhook-id", "")
        with self.lock:
            plan = self.script.plan.get(webhook_id)
            status = plan.pop(0) if plan else self.script.status
        if self.script.delay_s:
            time.sleep(self.script.delay_s)
        verified = []
        for i, secret in enumerate(self.secrets):
            for signature in lower.get("webhook-signature", "").split(" "):
                try:
                    Webhook(secret).verify(body, {**lower, "webhook-signature": signature})
                    verified.append(i)
                    break
                except WebhookVerificationError:
                    continue
        if self.secrets and not verified:
            status = 401
        with self.lock:
            self.requests.append(Received(time.time(), path, headers, body, status))
            self.verified_with[webhook_id] = verified
            if 200 <= status < 300 and self.applied[webhook_id] == 0:  # de-duplicated on webhook-id
                self.applied[webhook_id] += 1
                self.payloads[webhook_id] = json.loads(body)
            elif 200 <= status < 300:
                pass  # a duplicate: acknowledged, not applied again
        return status, None

    def received_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(r.headers.get("webhook-id") or r.headers.get("Webhook-Id", "") for r in self.requests)


class FakeSlack(Receiver):
    """Slack: ``POST /services/...`` (incoming webhooks; a path in ``revoked`` answers 404 ``no_service`` as Slack
    does for a removed webhook), ``POST /api/chat.postMessage`` and ``POST /api/auth.test``."""

    def __init__(self, token: str = "xoxb-test-token-0000") -> None:
        super().__init__()
        self.token = token
        self.script.status = 200
        self.messages: list[dict[str, Any]] = []
        self.revoked: set[str] = set()
        # OAuth v2: the app's client, what the Admin answers on the consent page, the codes handed out
        self.client = ("1111.2222", "slack-client-secret-0000")
        self.consent: str = "allow"  # or "access_denied"
        self.granted = "chat:write,channels:read,incoming-webhook"
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.installs = 0
        self.consent_page = False  # True: the authorize URL shows a page with Allow / Cancel (a browser test)
        # conversations.list: the workspace's channels; the bot is a member of those marked so
        self.channels: list[dict[str, Any]] = [
            {"id": "C0ALERTS01", "name": "support-alerts", "is_private": False, "is_member": True},
            {"id": "C0ESCAL002", "name": "escalations", "is_private": False, "is_member": True},
            {"id": "G0LEADS003", "name": "support-leads", "is_private": True, "is_member": True},
            {"id": "C0RANDOM04", "name": "random", "is_private": False, "is_member": False},
        ]
        self.revoked_tokens: set[str] = set()

    def _authorize(self, path: str) -> tuple[int, Any]:
        return _slack_authorize(self, path)

    def _exchange(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        return _slack_exchange(self, headers, body)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            status = self.script.status
        with self.lock:
            self.requests.append(Received(time.time(), path, headers, body, status))
        if status != 200:
            return status, {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        if path.startswith("/oauth/v2/authorize"):
            return self._authorize(path)
        if path.startswith("/api/oauth.v2.access"):
            return self._exchange(lower, body)
        if path.startswith("/oauth/v2/decide"):
            return self._authorize(path)
        if lower.get("authorization") == f"Bearer {self.token}" and self.token in self.revoked_tokens:
            return 200, {"ok": False, "error": "token_revoked"}
        if path.startswith("/api/auth.revoke"):
            if lower.get("authorization") != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            with self.lock:
                self.revoked_tokens.add(self.token)
            return 200, {"ok": True, "revoked": True}
        if path.startswith("/api/conversations.list"):
            if lower.get("authorization") != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            return 200, _slack_channels(self, path, body)
        if path.startswith("/api/auth.test"):
            if lower.get("authorization") != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            return 200, {
                "ok": True,
                "url": "https://acme-support.slack.com/",
                "team": "Acme Support",
                "user": "chatassist",
                "team_id": "T0ACME0001",
                "user_id": "U0BOT00001",
                "bot_id": "B0BOT00001",
                "is_enterprise_install": False,
            }
        if path.startswith("/api/chat.postMessage"):
            if lower.get("authorization") != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            message = json.loads(body)
            if not message.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}
            with self.lock:
                self.messages.append(message)
            return 200, {"ok": True, "channel": message["channel"], "ts": f"{time.time():.6f}"}
        if path.startswith("/services/"):
            if path in self.revoked:
                return 404, "no_service"
            with self.lock:
                self.messages.append(json.loads(body))
            return 200, "ok"
        return 404, {"ok": False, "error": "unknown_method"}


def _query(text: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(text))


def _slack_channels(fake: FakeSlack, path: str, body: bytes) -> dict[str, Any]:
    """``conversations.list``: pages of ``limit`` channels with a ``next_cursor`` (the offset)."""
    q = {**_query(path.split("?", 1)[1] if "?" in path else ""), **_query(body.decode())}
    start, limit = int(q.get("cursor") or 0), int(q.get("limit") or 100)
    page = fake.channels[start : start + limit]
    more = start + limit < len(fake.channels)
    return {"ok": True, "channels": page, "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


CONSENT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slack: install ChatAssist</title>
<style>body{{font:16px system-ui;background:#f8f8f8;margin:0}}main{{max-width:480px;margin:60px auto;background:#fff;
padding:32px;border-radius:8px;box-shadow:0 1px 4px #0002}}h1{{font-size:22px}}button{{font-size:16px;padding:8px 18px;
margin-right:8px}}.allow{{background:#007a5a;color:#fff;border:0;border-radius:4px}}</style></head><body><main>
<h1>ChatAssist is requesting permission to access the Acme Support Slack workspace</h1>
<p>It will be able to: {scopes}</p>
<form action="/oauth/v2/decide" method="get">{fields}
<button class="allow" name="decision" value="allow">Allow</button>
<button name="decision" value="access_denied">Cancel</button></form></main></body></html>"""


def _slack_authorize(fake: FakeSlack, path: str) -> tuple[int, Any]:
    """Slack's consent page, answered at once as ``fake.consent`` says (or, with ``consent_page``, shown with
    Allow / Cancel whose answer comes to ``/oauth/v2/decide``): back to redirect_uri with a code (or an error) and
    the state."""
    import html
    import secrets
    from urllib.parse import urlencode

    q = _query(path.split("?", 1)[1] if "?" in path else "")
    if q.get("client_id") != fake.client[0] or not q.get("redirect_uri"):
        return 400, "invalid_client_id"
    if fake.consent_page and path.startswith("/oauth/v2/authorize"):
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in q.items()
        )
        return 200, CONSENT_PAGE.format(scopes=html.escape(q.get("scope", "")), fields=fields)
    decision = q.get("decision", "allow") if path.startswith("/oauth/v2/decide") else fake.consent
    if decision != "allow":
        fake_error = decision
        back = {"error": fake_error, "state": q.get("state", "")}
    else:
        code = secrets.token_hex(8)
        with fake.lock:
            fake.codes[code] = q["redirect_uri"]
        back = {"code": code, "state": q.get("state", "")}
    return 302, {"__location__": q["redirect_uri"] + "?" + urlencode(back)}


def _slack_exchange(fake: FakeSlack, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    """``oauth.v2.access``: the client by basic auth (as slack-sdk sends it) or form fields; a code once."""
    import base64

    form = _query(body.decode())
    basic = headers.get("authorization", "").removeprefix("Basic ")
    client = tuple(base64.b64decode(basic).decode().split(":", 1)) if basic else (
        form.get("client_id"), form.get("client_secret"))  # fmt: skip
    if client != fake.client:
        return 200, {"ok": False, "error": "bad_client_secret"}
    with fake.lock:
        redirect = fake.codes.pop(form.get("code", ""), None)
    if redirect is None:
        return 200, {"ok": False, "error": "invalid_code"}
    if form.get("redirect_uri") != redirect:
        return 200, {"ok": False, "error": "bad_redirect_uri"}
    fake.installs += 1
    return 200, {
        "ok": True, "access_token": fake.token, "token_type": "bot", "scope": fake.granted,
        "bot_user_id": "U0BOT00001", "app_id": "A0APP00001", "team": {"name": "Acme Support", "id": "T0ACME0001"},
        "enterprise": None, "is_enterprise_install": False,
        "authed_user": {"id": "U0ADMIN001", "scope": "", "access_token": None, "token_type": None},
        "incoming_webhook": {"channel": "#support-alerts", "channel_id": "C0ALERTS01",
                             "configuration_url": "https://acme-support.slack.com/services/B0HOOK0001",
                             "url": "https://hooks.slack.com/services/T0ACME0001/B0HOOK0001/xyz"},
    }  # fmt: skip


class FakeZendesk(Receiver):
    """Zendesk's ticket API: ``POST /api/v2/tickets.json`` (an ``Idempotency-Key`` seen before returns the same
    ticket) and ``PUT /api/v2/tickets/{id}.json``, with basic auth ``{email}/token:{token}``."""

    def __init__(self, email: str, token: str) -> None:
        super().__init__()
        import base64

        self.auth = "Basic " + base64.b64encode(f"{email}/token:{token}".encode()).decode()
        self.email = email
        self.script.status = 201
        self.tickets: dict[int, dict[str, Any]] = {}
        self.by_key: dict[str, int] = {}
        self.keys_seen: list[str] = []
        self.puts: list[tuple[int, dict[str, Any]]] = []
        # OAuth (the account's OAuth client, PKCE): codes handed out, bearer tokens issued and not revoked
        self.client = ("chatassist_acme", "zendesk-client-secret-0000")
        self.consent = "allow"  # or "access_denied"
        self.granted = "read write"
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (redirect_uri, code_challenge)
        self.oauth_tokens: set[str] = set()
        self.revoked: list[str] = []

    def accepts(self, header: str | None) -> bool:
        """The agent's API token (basic auth), or a bearer token from the OAuth endpoints not revoked."""
        return header == self.auth or (header or "").removeprefix("Bearer ") in self.oauth_tokens

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        method = lower.get("x-fake-method", "POST")
        if path.startswith("/oauth/") or path.startswith("/api/v2/oauth/"):
            with self.lock:
                self.requests.append(Received(time.time(), path, headers, body, 200))
                return _zendesk_oauth(self, method, path, lower, body)
        with self.lock:
            self.requests.append(Received(time.time(), path, headers, body, self.script.status))
            if self.script.status == 429:
                return 429, {"error": "TooManyRequests"}
            if method == "GET" and path == "/api/v2/users/me.json":
                # as Zendesk does for credentials it does not know: 200 with the anonymous user
                if not self.accepts(lower.get("authorization")):
                    return 200, {"user": {"id": None, "name": "Anonymous user", "email": None, "role": "end-user",
                                          "url": None, "active": False, "verified": False}}  # fmt: skip
                return 200, {"user": {"id": 9001, "name": "Agent", "email": self.email, "role": "agent",
                                      "url": "/api/v2/users/9001.json", "active": True, "verified": True}}  # fmt: skip
            if not self.accepts(lower.get("authorization")):
                return 401, {"error": "Couldn't authenticate you"}
            if method == "POST" and path == "/api/v2/tickets.json":
                key = lower.get("idempotency-key", "")
                self.keys_seen.append(key)
                if key and key in self.by_key:
                    return 201, {"ticket": self.tickets[self.by_key[key]]}
                ticket = dict(json.loads(body)["ticket"])
                ticket["id"] = len(self.tickets) + 1001
                ticket["comments"] = [ticket.pop("comment")]
                self.tickets[ticket["id"]] = ticket
                if key:
                    self.by_key[key] = ticket["id"]
                return 201, {"ticket": ticket}
            if method == "PUT" and path.startswith("/api/v2/tickets/"):
                ticket_id = int(path.rsplit("/", 1)[-1].removesuffix(".json"))
                if ticket_id not in self.tickets:
                    return 404, {"error": "RecordNotFound"}
                change = json.loads(body)["ticket"]
                self.puts.append((ticket_id, change))
                ticket = self.tickets[ticket_id]
                if "comment" in change:
                    ticket["comments"].append(change.pop("comment"))
                ticket.update(change)
                return 200, {"ticket": ticket}
        return 404, {"error": "InvalidEndpoint"}


class FakeHubSpot(Receiver):
    """HubSpot's CRM API as the official SDK calls it: ``POST /crm/v3/objects/contacts/batch/upsert`` (by email),
    ``POST /crm/v3/objects/notes`` (with associations) and ``GET /crm/v3/objects/contacts?limit=N`` (a page), bearer
    token auth."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.script.status = 200
        self.contacts: dict[str, dict[str, Any]] = {}  # email -> contact
        self.notes: list[dict[str, Any]] = []
        # OAuth (a public app): the client, what the Admin answers, the scopes granted, codes and tokens issued
        self.client = ("5f1e0c7a-hubs-4e2b-9c1d-clientid0001", "hubspot-client-secret-0000")
        self.consent = "allow"  # or "access_denied"
        self.granted = ["crm.objects.contacts.read", "crm.objects.contacts.write", "oauth"]
        self.expires_in = 1800
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.refresh_tokens: set[str] = set()  # live (not revoked) refresh tokens
        self.access_tokens: dict[str, float] = {}  # access token -> when it expires (time.time())
        self.revoked: list[str] = []
        self.refreshes = 0

    def authorized(self, header: str | None) -> bool:
        """A private app's token, or an access token issued by the OAuth endpoints and not expired."""
        token = (header or "").removeprefix("Bearer ")
        return token == self.token or self.access_tokens.get(token, 0) > time.time()

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        now = "2026-12-07T09:00:00.000Z"
        if path.startswith("/oauth/"):
            with self.lock:
                self.requests.append(Received(time.time(), path, headers, body, 200))
                return _hubspot_oauth(self, lower.get("x-fake-method", "GET"), path, body)
        with self.lock:
            self.requests.append(Received(time.time(), path, headers, body, self.script.status))
            if self.script.status == 429:
                return 429, {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "category": "RATE_LIMITS",
                }
            if not self.authorized(lower.get("authorization")):
                return 401, {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                }
            if lower.get("x-fake-method") == "GET" and path.startswith("/crm/v3/objects/contacts?"):
                limit = int(path.split("limit=", 1)[1].split("&", 1)[0]) if "limit=" in path else 10
                page = [{"id": c["id"], "properties": c["properties"], "createdAt": now, "updatedAt": now,
                         "archived": False} for c in list(self.contacts.values())[:limit]]  # fmt: skip
                return 200, {"results": page}
            data = json.loads(body)
            if path.startswith("/crm/v3/objects/contacts/batch/upsert"):
                results = []
                for item in data["inputs"]:
                    email = item["id"]
                    new = email not in self.contacts
                    contact = self.contacts.setdefault(email, {"id": str(500 + len(self.contacts)), "properties": {}})
                    contact["properties"].update(item["properties"])
                    results.append(
                        {
                            "id": contact["id"],
                            "properties": contact["properties"],
                            "createdAt": now,
                            "updatedAt": now,
                            "archived": False,
                            "new": new,
                        }
                    )
                return 200, {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
            if path.startswith("/crm/v3/objects/notes"):
                note = {
                    "id": str(900 + len(self.notes)),
                    "properties": data["properties"],
                    "associations": data.get("associations", []),
                    "createdAt": now,
                    "updatedAt": now,
                    "archived": False,
                }
                self.notes.append(note)
                return 201, {k: note[k] for k in ("id", "properties", "createdAt", "updatedAt", "archived")}
        return 404, {"status": "error", "message": "Not found", "category": "OBJECT_NOT_FOUND"}


class FakeIntercom(Receiver):
    """Intercom's ``GET /me``: 200 with the admin for a token in ``tokens``, 401 otherwise."""

    def __init__(self, *tokens: str) -> None:
        super().__init__()
        self.tokens = set(tokens)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.requests.append(Received(time.time(), path, headers, body, 0))
            if path != "/me":
                return 404, {"type": "error.list", "errors": [{"code": "not_found", "message": "Resource Not Found"}]}
            if lower.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
                return 401, {
                    "type": "error.list",
                    "errors": [{"code": "unauthorized", "message": "Access Token Invalid"}],
                }
        return 200, {"type": "admin", "id": "991", "email": "ops@example.com", "name": "Ops"}


def vendor_urls(slack: FakeSlack, hubspot: FakeHubSpot, intercom: FakeIntercom | None = None) -> dict[str, Any]:
    """The integration commands' Context arguments pointing Slack, HubSpot (and Intercom) at these fakes."""
    urls: dict[str, Any] = {"slack_api_url": slack.url + "/api/", "hubspot_api_url": hubspot.url, "timeout_s": 5}
    if intercom is not None:
        urls["intercom_api_url"] = intercom.url
    return urls


def _hubspot_oauth(fake: FakeHubSpot, method: str, path: str, body: bytes) -> tuple[int, Any]:
    """HubSpot's OAuth endpoints: the consent redirect (``/oauth/authorize``), ``POST /oauth/v1/token``
    (authorization_code, refresh_token), ``GET /oauth/v1/access-tokens/:token`` and
    ``DELETE /oauth/v1/refresh-tokens/:token``, answering errors as HubSpot does (``status`` and ``message``)."""
    import secrets
    from urllib.parse import urlencode

    if path.startswith("/oauth/authorize"):
        q = _query(path.split("?", 1)[1] if "?" in path else "")
        if q.get("client_id") != fake.client[0] or not q.get("redirect_uri"):
            return 400, {"status": "error", "message": "Invalid client_id"}
        if fake.consent != "allow":
            back = {"error": fake.consent, "state": q.get("state", "")}
        else:
            code = "hs-code-" + secrets.token_hex(6)
            fake.codes[code] = q["redirect_uri"]
            back = {"code": code, "state": q.get("state", "")}
        return 302, {"__location__": q["redirect_uri"] + "?" + urlencode(back)}
    if path.startswith("/oauth/v1/token") and method == "POST":
        form = _query(body.decode())
        if (form.get("client_id"), form.get("client_secret")) != fake.client:
            return 400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"}
        if form.get("grant_type") == "authorization_code":
            if fake.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                return 400, {"status": "BAD_AUTH_CODE", "message": "missing or unknown auth code"}
            refresh = "hs-refresh-" + secrets.token_hex(8)
            fake.refresh_tokens.add(refresh)
        elif form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in fake.refresh_tokens:
                return 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
            fake.refreshes += 1
        else:
            return 400, {"status": "BAD_GRANT_TYPE", "message": "unknown grant_type"}
        access = "hs-access-" + secrets.token_hex(10)
        fake.access_tokens[access] = time.time() + fake.expires_in
        return 200, {"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                     "expires_in": fake.expires_in}  # fmt: skip
    if path.startswith("/oauth/v1/access-tokens/"):
        token = path.rsplit("/", 1)[1]
        if token not in fake.access_tokens:
            return 404, {"status": "error", "message": "The token does not exist"}
        return 200, {"token": token, "user": "ops@acme.example", "hub_domain": "acme.example", "scopes": fake.granted,
                     "hub_id": 62515, "app_id": 4242, "expires_in": fake.expires_in, "user_id": 777,
                     "token_type": "access"}  # fmt: skip
    if path.startswith("/oauth/v1/refresh-tokens/") and method == "DELETE":
        token = path.rsplit("/", 1)[1]
        if token not in fake.refresh_tokens:
            return 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
        fake.refresh_tokens.discard(token)
        fake.revoked.append(token)
        return 204, None
    return 404, {"status": "error", "message": f"unknown OAuth path {path}"}


def _zendesk_oauth(fake: FakeZendesk, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    """Zendesk's OAuth endpoints: ``/oauth/authorizations/new`` (the consent redirect, PKCE S256 challenge kept),
    ``POST /oauth/tokens`` (authorization_code with the code verifier) and
    ``DELETE /api/v2/oauth/tokens/current.json`` (revoke the bearer token used)."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import urlencode

    if path.startswith("/oauth/authorizations/new"):
        q = _query(path.split("?", 1)[1] if "?" in path else "")
        if q.get("client_id") != fake.client[0] or q.get("code_challenge_method") != "S256":
            return 400, {"error": "invalid_request", "error_description": "unknown client or no S256 challenge"}
        if fake.consent != "allow":
            back = {"error": fake.consent, "state": q.get("state", "")}
        else:
            code = "zd-code-" + secrets.token_hex(6)
            fake.codes[code] = (q["redirect_uri"], q.get("code_challenge", ""))
            back = {"code": code, "state": q.get("state", "")}
        return 302, {"__location__": q["redirect_uri"] + "?" + urlencode(back)}
    if path.startswith("/oauth/tokens") and method == "POST":
        form = json.loads(body or b"{}")
        if (form.get("client_id"), form.get("client_secret")) != fake.client:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}
        issued = fake.codes.pop(form.get("code", ""), None)
        verifier = str(form.get("code_verifier") or "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if issued is None or issued[0] != form.get("redirect_uri") or issued[1] != challenge:
            return 400, {"error": "invalid_grant", "error_description": "The code or its verifier is not valid"}
        token = "zd-oauth-" + secrets.token_hex(12)
        fake.oauth_tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "scope": fake.granted}
    if path == "/api/v2/oauth/tokens/current.json" and method == "DELETE":
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in fake.oauth_tokens:
            return 401, {"error": "Couldn't authenticate you"}
        fake.oauth_tokens.discard(token)
        fake.revoked.append(token)
        return 204, None
    return 404, {"error": "InvalidEndpoint"}
