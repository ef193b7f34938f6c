"""The composition root: build stores, views, providers, services and runners from settings."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import psycopg
import redis
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from psycopg.conninfo import conninfo_to_dict
from redis.asyncio import Redis as AsyncRedis

from chatassist.embedded import EmbeddedServices, start_embedded
from chatassist.migrate import migrate
from chatassist.pools import harden, redis_options
from chatassist.projection_runner import PagedRunner
from chatassist.runner_sessions import RunnerSessions, Subscription
from chatassist.settings import Settings
from commands._mail import MailOutbox
from commands._password_reset import LogSender, Sender
from commands._security import TokenSigner
from commands._store import RECORDER_TOPIC
from commands.ai.anthropic_provider import AnthropicProvider
from commands.ai.base import Provider
from commands.ai.clients import Endpoints
from commands.ai.models import deprecation_of
from commands.ai.openai_provider import OpenAIProvider
from commands.ai.orchestrator import RetryPolicy
from commands.application import ChatAssistApp
from commands.chat_turn.service import ChatService, Providers
from commands.personal_data.keys import register as register_personal_keys
from commands.provider_keys.cipher import KeyCipher
from commands.provider_keys.vault import KeyVault
from projections._live import FACTORY_TOPIC, LIVE_REDIS_URL
from projections._paging import PageHook
from projections.analytics.projection import AnalyticsProjection, AnalyticsView
from projections.audit.projection import AuditProjection, AuditView
from projections.knowledge.projection import KnowledgeProjection
from projections.knowledge.view import KnowledgeView
from projections.monitor.projection import MonitorProjection, MonitorView
from projections.transcripts.projection import TranscriptProjection, TranscriptView
from projections.transcripts.storage import fold_page
from projections.usage.projection import UsageProjection, UsageView
from web.auth import Auth
from web.ratelimit import RateLimiter, RateLimits, parse_limit
from workers.mail import MailSender, SmtpSettings

log = logging.getLogger("chatassist")
SMALL_POOL = {"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "2"}  # a runner or a read view needs few
# A read view's queries are one short round trip each: 5 connections per view per process serve a dashboard's
# load, and keep a process (3 views, 6 runners, the event store's pool) well under PostgreSQL's default 100.
VIEW_POOL = {"POSTGRES_POOL_SIZE": "2", "POSTGRES_MAX_OVERFLOW": "3"}
# AES-GCM on the `cryptography` package: the stored format of eventsourcing.cipher's pycryptodome AESCipher (which
# wrote older events; each reads the other's), 35x less CPU per event (docs/adr/0009-fast-event-decoder.md).
EVENT_CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
PROJECTIONS: dict[str, tuple[Any, Any]] = {
    "transcripts": (TranscriptProjection, TranscriptView),
    "usage": (UsageProjection, UsageView),
    "analytics": (AnalyticsProjection, AnalyticsView),
    "audit": (AuditProjection, AuditView),
    "monitor": (MonitorProjection, MonitorView),
    "knowledge": (KnowledgeProjection, KnowledgeView),
}
# A step in each page's transaction of a projection's live runner: the transcript runner keeps storage used (ADR 0061)
PAGE_HOOKS: dict[str, PageHook] = {"transcripts": fold_page}


def eventsourcing_env(settings: Settings, database_url: str) -> dict[str, str]:
    """The eventsourcing library's configuration for our PostgreSQL URL."""
    info = conninfo_to_dict(database_url)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(max(1, min(settings.db_pool_min, settings.db_pool_size))),
        "POSTGRES_MAX_OVERFLOW": str(max(0, settings.db_pool_size - max(1, settings.db_pool_min))),
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, round(settings.db_pool_timeout_s))),  # the pool wait (re-set below)
        "CREATE_TABLE": "y",
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,  # appends in one round trip (commands/_store.py)
    }
    # crypto-shredding (ADR 0044): the personal data keys every ChatAssistApp on this database uses
    where = (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"])
    register_personal_keys(*where, database_url, key_cipher(settings))
    if settings.event_encryption_key:
        env["CIPHER_TOPIC"] = EVENT_CIPHER_TOPIC
        env["CIPHER_KEY"] = settings.event_encryption_key
    return env


def resolve_services(settings: Settings) -> tuple[str, str, EmbeddedServices | None]:
    """Database and Redis URLs: the configured ones, else embedded servers under the data dir."""
    if settings.database_url and settings.redis_url:
        return settings.database_url, settings.redis_url, None
    embedded = start_embedded(settings.data_path)
    return settings.database_url or embedded.database_url, settings.redis_url or embedded.redis_url, embedded


def key_cipher(settings: Settings) -> KeyCipher | None:
    """The provider-key cipher of CHATASSIST_KEYS_ENCRYPTION_KEY, or None when it is not set."""
    if not settings.keys_encryption_key:
        return None
    try:
        return KeyCipher(settings.keys_encryption_key)
    except ValueError as err:
        raise SystemExit(f"CHATASSIST_KEYS_ENCRYPTION_KEY: {err}") from None


def build_providers(settings: Settings, app: ChatAssistApp | None = None) -> Providers:
    """Providers with a key in the environment; with ``app``, each workspace's own keys too; offline always."""
    by_name: dict[str, Provider] = {}
    if settings.anthropic_api_key:
        by_name["anthropic"] = AnthropicProvider(
            settings.anthropic_api_key,
            base_url=settings.anthropic_base_url,
            timeout_s=settings.provider_timeout_s,
        )
    if settings.openai_api_key:
        by_name["openai"] = OpenAIProvider(
            settings.openai_api_key, base_url=settings.openai_base_url, timeout_s=settings.provider_timeout_s
        )
    endpoints = Endpoints(settings.anthropic_base_url, settings.openai_base_url, settings.provider_timeout_s)
    vault = KeyVault(app, key_cipher(settings)) if app is not None else None
    return Providers(by_name, vault=vault, endpoints=endpoints)


def warn_deprecated(models: list[str]) -> list[str]:
    """Log (and return) a warning for each model the anthropic SDK marks deprecated."""
    warnings = []
    for model in dict.fromkeys(models):
        date = deprecation_of(model)
        if date:
            warnings.append(f"model {model} is deprecated by Anthropic and reaches end of life on {date}")
            log.warning(warnings[-1])
    return warnings


@dataclass
class Container:
    """Everything a process needs, wired once."""

    settings: Settings
    database_url: str
    redis_url: str
    app: ChatAssistApp
    transcripts: TranscriptView = field(init=False)  # set by bootstrap() once the container can open views
    usage: UsageView = field(init=False)
    redis: redis.Redis
    chat: ChatService = field(init=False)
    es_env: dict[str, str]
    embedded: EmbeddedServices | None = None
    auth: Auth | None = None
    runners: list[PagedRunner] = field(default_factory=list)
    analytics: AnalyticsView | None = None
    knowledge: KnowledgeView | None = None
    mail: MailOutbox | None = None  # with CHATASSIST_SMTP_HOST: invitations and reset links are emailed
    mail_sender: Any = None  # workers.mail.MailSender, started by `worker` and `up`
    shared_runner_sessions: RunnerSessions | None = None  # opened by the first runner (runner_sessions())

    def view(self, cls: type[Any], name: str) -> Any:
        """Open a view (tracking recorder) of projection ``name`` with a pool of its own (close it after use)."""
        env = Environment(name, {**self.es_env, **VIEW_POOL})
        return InfrastructureFactory.construct(env=env).tracking_recorder(cls)

    def shared_view(self, cls: type[Any], name: str) -> Any:
        """A view of projection ``name`` on the process's one pool (the event store's): its tables are created on a
        connection of its own, closed at once."""
        view = self.view(cls, name)
        view.datastore.close()
        view.datastore = self.app.recorder.datastore
        return view

    def start_projections(self, names: list[str] | None = None) -> None:
        """Run the named projections (default: all) in background threads of this process.

        Each is a hot standby until it holds its projection's lock: several processes may run the same ones.
        """
        for name in names or list(PROJECTIONS):
            projection_class, view_class = PROJECTIONS[name]
            env = {**self.es_env, **SMALL_POOL, **self.live_env()}
            datastore = self.app.recorder.datastore
            runner = PagedRunner(
                projection_class,
                view_class,
                env,
                datastore=datastore,
                sessions=self.runner_sessions(),
                after_page=PAGE_HOOKS.get(name),
            )
            self.runners.append(runner.start())

    def runner_sessions(self) -> RunnerSessions:
        """The one lock-and-wake session and the pages pool that every runner of this process shares."""
        if self.shared_runner_sessions is None:
            pool_kwargs = self.app.recorder.datastore.pool.kwargs
            self.shared_runner_sessions = RunnerSessions(pool_kwargs)
        return self.shared_runner_sessions

    def live_env(self) -> dict[str, str]:
        """What makes the runners' views publish live notices to Redis after each commit (projections/_live.py)."""
        return {"PERSISTENCE_MODULE": FACTORY_TOPIC, LIVE_REDIS_URL: self.redis_url}

    def wait_for_projections(self, timeout: float = 10.0) -> None:
        """Block until every running projection has processed every event it subscribes to."""
        for runner in self.runners:
            runner.wait(self.last_position(runner.projection.topics), timeout=timeout)

    def last_position(self, topics: tuple[str, ...]) -> int | None:
        """The newest notification id among ``topics`` (all topics when empty)."""
        if not topics:
            newest: int | None = self.app.recorder.max_notification_id()  # as the library declares it
            return newest
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(
                f"SELECT max(notification_id) FROM {self.app.name.lower()}_events WHERE topic = ANY(%s)",
                (list(topics),),
            ).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        """Stop runners, close pools, leave the embedded servers (stopped if no other process uses them)."""
        for runner in self.runners:
            runner.stop()
        self.runners.clear()
        if self.shared_runner_sessions is not None:
            self.shared_runner_sessions.close()
        if self.mail_sender is not None:
            self.mail_sender.stop()
        if self.mail is not None:
            self.mail.close()
        self.app.close()  # the views share its pool (shared_view)
        self.redis.close()
        if self.embedded is not None:
            self.embedded.stop()


def rate_limits(settings: Settings, redis_url: str) -> RateLimits:
    """The web layer's rate limits, counted in Redis (an async client per process)."""
    try:
        chat_user, chat_ip, api_user, new_ip, new_ws, tokens_ip = (
            parse_limit(settings.rate_chat_per_user),
            parse_limit(settings.rate_chat_per_ip),
            parse_limit(settings.rate_api_per_user),
            parse_limit(settings.rate_new_conversations_per_ip),
            parse_limit(settings.rate_new_conversations_per_workspace),
            parse_limit(settings.rate_tokens_per_ip),
        )
    except ValueError as err:
        raise SystemExit(f"rate limit settings: {err}") from None
    if not 0 <= settings.anonymous_daily_budget_share <= 1:
        raise SystemExit("CHATASSIST_ANONYMOUS_DAILY_BUDGET_SHARE must be between 0 and 1 (0: no ceiling)")
    return RateLimits(
        RateLimiter(AsyncRedis.from_url(redis_url, **redis_options(settings))),
        chat_user,
        chat_ip,
        api_user,
        new_conversations_per_ip=new_ip,
        new_conversations_per_workspace=new_ws,
        tokens_per_ip=tokens_ip,
        anonymous_daily_share=settings.anonymous_daily_budget_share,
    )


# The long-running processes an orchestrator starts beside PostgreSQL: they wait for it at start (``wait_for``).
WAITING_KINDS = frozenset({"web", "worker", "scheduler", "projections"})
# What a connection attempt says while the server is not (yet) there: worth waiting for. Anything else (a wrong
# password, an unknown role, no pg_hba entry) fails at once.
NOT_YET_THERE = (
    "connection refused",
    "no such file or directory",
    "is the server running",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "timeout expired",
    "could not translate host name",
)


def not_yet_there(err: psycopg.OperationalError) -> bool:
    """Whether ``err`` says the server is not answering yet (down, starting, restarting), not that it refused us."""
    text = str(err).lower()
    return any(part in text for part in NOT_YET_THERE)


def wait_for(connect: Any, what: str, *, first_s: float = 0.25, most_s: float = 5.0, sleep: Any = None) -> Any:
    """``connect()``, again and again with a growing pause (``first_s`` doubling up to ``most_s``) while the server
    is not there yet; the wait is logged once, as a warning, and its end once."""

    pause, since = first_s, None
    while True:
        try:
            result = connect()
        except psycopg.OperationalError as err:
            if not not_yet_there(err):
                raise
            if since is None:
                since = time.monotonic()
                log.warning("%s is not answering (%s); waiting for it", what, str(err).strip().splitlines()[0])
            (sleep or time.sleep)(pause)
            pause = min(pause * 2, most_s)
            continue
        if since is not None:
            log.warning("%s answers after %.1f s of waiting", what, time.monotonic() - since)
        return result


def ensure_database(database_url: str, *, wait: bool = False) -> None:
    """Create the database named in the URL if the server lacks it (laptop and CI convenience). ``wait``: while
    the server does not answer (down, starting), wait for it with backoff instead of failing (``wait_for``)."""
    info = conninfo_to_dict(database_url)
    name = str(info.get("dbname") or "postgres")
    admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    where = f"PostgreSQL at {info.get('host') or 'localhost'}:{info.get('port') or 5432}"

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(admin, autocommit=True, connect_timeout=5)

    with wait_for(connect, where) if wait else connect() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def bootstrap(
    settings: Settings, *, providers: Providers | None = None, run_migrations: bool = True, kind: str = "cli"
) -> Container:
    """Wire the process: storage, migrations, event store, views, providers, chat service. ``kind`` (web, worker,
    up, ...) names the process's sessions in pg_stat_activity."""
    database_url, redis_url, embedded = resolve_services(settings)
    ensure_database(database_url, wait=kind in WAITING_KINDS and embedded is None)
    if run_migrations:
        migrate(database_url)
    es_env = eventsourcing_env(settings, database_url)  # no pre-ping: harden()'s pool checks each checkout itself
    app = ChatAssistApp(env=es_env)
    harden(app.recorder.datastore, settings, kind)
    client = redis.Redis.from_url(redis_url, **redis_options(settings))
    container = Container(settings, database_url, redis_url, app, client, es_env, embedded)
    container.transcripts = container.shared_view(TranscriptView, TranscriptProjection.name)
    container.usage = container.shared_view(UsageView, UsageProjection.name)
    container.analytics = container.shared_view(AnalyticsView, AnalyticsProjection.name)
    container.knowledge = app.knowledge_search = container.shared_view(KnowledgeView, KnowledgeProjection.name)
    app.knowledge_allow_private = settings.crawl_allow_private  # development only: crawl local docs sites
    policy = RetryPolicy(attempts=settings.retry_attempts, base_delay_s=settings.retry_base_delay_s)
    container.chat = ChatService(
        app,
        providers or build_providers(settings, app),
        container.usage,
        policy,
        cache_ttl_s=settings.workspace_cache_s,
        judge_timeout_s=settings.decision_judge_timeout_s if settings.decision_judge else None,
    )
    reset_sender: Sender = LogSender(production=settings.env.strip().lower() != "development")
    if settings.smtp_host:
        smtp_settings(settings)  # refuse a bad configuration at start, not at the first email
        container.mail = reset_sender = MailOutbox(database_url)
    if settings.secret_key:
        try:
            signups = parse_limit(settings.rate_signups_per_ip)
        except ValueError as err:
            raise SystemExit(f"CHATASSIST_RATE_SIGNUPS_PER_IP: {err}") from None
        container.auth = Auth(
            app,
            TokenSigner(settings.secret_key),
            client,
            reset_sender=reset_sender,
            public_url=public_url(settings),
            redis_url=redis_url,
            max_address_failures=settings.signin_failures_per_ip,
            signups_per_address=(signups.count, signups.seconds),
        )
        container.auth.mail = container.mail
    keys = getattr(app.mapper, "keys", None)
    if keys is not None:  # erasures heard at once through the runners' session, from the first key read (ADR 0052)
        keys.listen_with(
            lambda s: container.runner_sessions().subscribe(Subscription(s.channel, s.notice, s.listening))
        )
    log.info("storage: %s, redis: %s", _safe(database_url), _safe(redis_url))
    return container


def smtp_settings(settings: Settings) -> SmtpSettings:
    """The SMTP server of CHATASSIST_SMTP_*; stops with a message naming what is missing or wrong."""
    if not settings.smtp_host:
        raise SystemExit("CHATASSIST_SMTP_HOST is not set")
    if not settings.smtp_from or "@" not in settings.smtp_from:
        raise SystemExit(
            "CHATASSIST_SMTP_FROM must be set to the sender's address, e.g. 'ChatAssist <no-reply@example.com>'"
        )
    try:
        return SmtpSettings(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_security.strip().lower(),
            settings.smtp_timeout_s,
        )
    except ValueError as err:
        raise SystemExit(str(err)) from None


def start_mail_sender(container: Container) -> None:
    """Run the email sender in this process (`worker`, `up`) when an SMTP server is configured."""
    if container.settings.smtp_host and container.mail_sender is None:
        container.mail_sender = MailSender(container.database_url, smtp_settings(container.settings)).start()


def _safe(url: str) -> str:
    parsed = urlparse(url)
    return url.replace(parsed.password, "****") if parsed.password else url


def public_url(settings: Settings) -> str:
    """The base of every link the server writes (password reset, invites, the widget tag): CHATASSIST_PUBLIC_URL,
    else the address this process listens on (a wildcard address written as 127.0.0.1, reachable from here)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port}"
