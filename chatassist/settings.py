"""Typed settings from the environment (12-factor). The one place every variable is read and documented."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

SECRET_FIELDS = frozenset(
    {
        "anthropic_api_key",
        "openai_api_key",
        "event_encryption_key",
        "secret_key",
        "keys_encryption_key",
        "metrics_token",
        "smtp_password",
    }
)
FULLY_MASKED = frozenset(
    {"event_encryption_key", "secret_key", "keys_encryption_key", "metrics_token", "smtp_password"}
)
# OAuth install flows (issue 21): the apps' client secrets are never shown, not even in part
OAUTH_SECRET_FIELDS = frozenset({"slack_client_secret", "hubspot_client_secret", "zendesk_oauth_clients"})
SECRET_KEY_FILE = "secret.key"
KEYS_KEY_FILE = "keys.key"


@dataclass(frozen=True)
class Settings:
    """Effective configuration. Each field's env var is CHATASSIST_<NAME> unless noted in ENV_NAMES."""

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: str = ".chatassist"
    host: str = "127.0.0.1"
    port: int = 8000
    anthropic_api_key: str | None = None
    openai_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_base_url: str | None = None
    provider_timeout_s: float = 30.0
    retry_attempts: int = 3
    retry_base_delay_s: float = 0.25
    # the LLM judge of uncertain escalation decisions (docs/escalation.md, "The LLM judge"): on when a key is set
    decision_judge: bool = True  # CHATASSIST_DECISION_JUDGE: off keeps every decision offline
    decision_judge_timeout_s: float = 4.0  # how long an uncertain turn waits for the judge before deciding offline
    event_encryption_key: str | None = None
    secret_key: str | None = None
    keys_encryption_key: str | None = None
    # The connection budget of each process (docs/operations.md, "Connections"): the one pool a process shares
    # between its event store, its views and its projection runners' reads, and how long anything waits on it
    db_pool_size: int = 4  # connections the shared pool may open (it keeps db_pool_min open at rest)
    db_pool_min: int = 1
    db_pool_timeout_s: float = 2.0  # wait for a free pooled connection, then 503 database_unavailable
    db_connect_timeout_s: int = 2  # libpq connect_timeout (whole seconds, at least 2)
    db_statement_timeout_s: float = 30.0  # on the shared pool's sessions (0: the server's own); see operations.md
    redis_timeout_s: float = 2.0  # connect and reply timeout of the request path's Redis clients
    idle_close_minutes: int = 30
    workspace_cache_s: float = 1.0
    rate_chat_per_user: str = "30/60"
    rate_chat_per_ip: str = "300/60"
    rate_api_per_user: str = "600/60"
    # Abuse limits that a caller cannot reset by inventing visitor ids (docs/widget-security.md, "Abuse limits")
    rate_new_conversations_per_ip: str = "10/60"
    rate_new_conversations_per_workspace: str = "120/60"
    rate_tokens_per_ip: str = "200000/3600"
    rate_signups_per_ip: str = "20/3600"  # sign-up attempts per client address
    signin_failures_per_ip: int = 50  # failed sign-ins per client address in 15 minutes, over any emails (0: off)
    anonymous_daily_budget_share: float = 0.2  # of the monthly token budget, per day, for unverified visitors
    trusted_proxies: str = ""  # CHATASSIST_TRUSTED_PROXIES: peers whose X-Forwarded-For is believed (default: none)
    log_level: str = "INFO"
    env: str = "production"  # CHATASSIST_ENV: only "development" logs password-reset links (`up` defaults to it)
    public_url: str | None = None  # CHATASSIST_PUBLIC_URL: base of links sent by email (default http://host:port)
    crawl_allow_private: bool = False  # CHATASSIST_CRAWL_ALLOW_PRIVATE: let knowledge crawls reach private addresses
    chain_anchor_minutes: float = 60.0  # CHATASSIST_CHAIN_ANCHOR_MINUTES: how often the chains are anchored
    # integrations (docs/integrations.md)
    integrations_allow_private_urls: bool = False  # development only: http and loopback/private endpoint URLs
    delivery_schedule: str = ""  # seconds between attempts, comma-separated (default: Standard Webhooks' schedule)
    delivery_timeout_s: float = 10.0
    delivery_sweep_s: float = 15.0  # how often the scheduler re-enqueues lost, expired and due deliveries
    delivery_grace_s: float = 30.0  # how long a queued delivery message may wait before the sweep sends another
    slack_api_url: str | None = None  # Slack Web API base (tests and proxies); default https://slack.com/api/
    hubspot_api_url: str | None = None  # HubSpot API host (tests and proxies); default https://api.hubapi.com
    intercom_api_url: str | None = None  # Intercom API base (tests and proxies); default https://api.intercom.io
    broker_namespace: str = "chatassist"  # prefix of the Dramatiq keys in Redis
    # OAuth install flows (issue 21, docs/integrations.md "Add to Slack"): the Slack app's OAuth client; the
    # callback URL is <CHATASSIST_PUBLIC_URL>/api/integrations/slack/oauth/callback
    slack_client_id: str | None = None  # CHATASSIST_SLACK_CLIENT_ID: with the secret, shows "Add to Slack"
    slack_client_secret: str | None = None  # CHATASSIST_SLACK_CLIENT_SECRET (never logged or shown)
    slack_authorize_url: str | None = None  # Slack's consent page (tests); default https://slack.com/oauth/v2/authorize
    # HubSpot's public app (callback <CHATASSIST_PUBLIC_URL>/api/integrations/hubspot/oauth/callback); its tokens
    # are exchanged, refreshed and revoked at CHATASSIST_HUBSPOT_API_URL
    hubspot_client_id: str | None = None  # CHATASSIST_HUBSPOT_CLIENT_ID: with the secret, "Connect with HubSpot"
    hubspot_client_secret: str | None = None  # CHATASSIST_HUBSPOT_CLIENT_SECRET (never logged or shown)
    hubspot_authorize_url: str | None = None  # HubSpot's consent page; default https://app.hubspot.com/oauth/authorize
    # Zendesk's OAuth clients, one per account (subdomain): "acme=client_id:client_secret,other=..." (never shown)
    zendesk_oauth_clients: str = (
        ""  # CHATASSIST_ZENDESK_OAUTH_CLIENTS: a listed subdomain offers "Connect with Zendesk"
    )
    # metrics and logs (docs/operations.md, "Metrics and logs")
    log_format: str = "text"  # CHATASSIST_LOG_FORMAT: text, or json (one JSON object per line, with request_id)
    metrics_token: str | None = None  # CHATASSIST_METRICS_TOKEN: bearer token of /metrics and the metrics port
    metrics_host: str = "127.0.0.1"  # CHATASSIST_METRICS_HOST: address of the metrics port of worker, projections, up
    metrics_port: int = 9108  # CHATASSIST_METRICS_PORT: that port (0: none)
    # email: invitations and password-reset links (docs/configuration.md#email); no host: nothing is sent
    smtp_host: str | None = None  # CHATASSIST_SMTP_HOST
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "starttls"  # starttls | ssl | none (a local relay)
    smtp_from: str | None = None  # the From address, e.g. "ChatAssist <no-reply@example.com>"; required with a host
    smtp_timeout_s: float = 10.0

    @property
    def data_path(self) -> Path:
        """The data directory of the embedded servers, absolute."""
        return Path(self.data_dir).expanduser().resolve()

    def masked(self) -> dict[str, object]:
        """All settings with secrets shown as their first and last four characters."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if (f.name in FULLY_MASKED or f.name in OAUTH_SECRET_FIELDS) and value:
                value = "****"
            elif f.name in SECRET_FIELDS and value:
                value = f"{value[:6]}…{value[-4:]}" if len(value) > 16 else "****"
            elif f.name.endswith("_url") and isinstance(value, str) and "@" in value and ":" in value.split("@")[0]:
                scheme, rest = value.split("://", 1)
                user = rest.split(":", 1)[0]
                value = f"{scheme}://{user}:****@{rest.split('@', 1)[1]}"
            out[f.name] = value
        return out


ENV_NAMES: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "openai_api_key": "OPENAI_API_KEY",
    "anthropic_base_url": "ANTHROPIC_BASE_URL",
    "openai_base_url": "OPENAI_BASE_URL",
}


def env_name(field_name: str) -> str:
    """The environment variable that sets ``field_name``."""
    return ENV_NAMES.get(field_name, f"CHATASSIST_{field_name.upper()}")


def _convert(raw: str, kind: object, name: str) -> object:
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
        if kind in ("bool", bool):
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes", "on"}
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a valid {kind}") from None
    return raw


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment); empty values count as unset."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(env_name(f.name), "")
        if raw != "":
            kind = str(f.type).replace(" | None", "")
            values[f.name] = _convert(raw, kind, env_name(f.name))
    return Settings(**values)  # type: ignore[arg-type]


def require_secret_key(settings: Settings) -> Settings:
    """Stop with a clear message when CHATASSIST_SECRET_KEY (which signs sessions) is not set."""
    if not settings.secret_key:
        raise SystemExit(
            "CHATASSIST_SECRET_KEY is not set: it signs session and invite tokens and must be the same in every "
            "web process. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return settings


def laptop_env(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """`chatassist up` on the embedded default: development (reset links on its own console) unless
    CHATASSIST_ENV says otherwise. Every other process keeps the safe default, production."""
    environ = os.environ if environ is None else environ
    if environ.get(env_name("env"), "").strip():
        return settings
    return replace(settings, env="development")


def ensure_secret_key(settings: Settings) -> Settings:
    """Laptop mode: without CHATASSIST_SECRET_KEY, use (creating it once, mode 0600) ``secret.key`` in the data dir."""
    if settings.secret_key:
        return settings
    path = settings.data_path / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return replace(settings, secret_key=path.read_text().strip())


def ensure_keys_encryption_key(settings: Settings) -> Settings:
    """Laptop mode: without CHATASSIST_KEYS_ENCRYPTION_KEY, use (creating it once, mode 0600) ``keys.key`` in the
    data dir: one ``k1:<base64 256-bit key>`` entry that encrypts the workspaces' provider keys."""
    if settings.keys_encryption_key:
        return settings
    path = settings.data_path / KEYS_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("k1:" + base64.b64encode(secrets.token_bytes(32)).decode())
    return replace(settings, keys_encryption_key=path.read_text().strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
