"""The ``chatassist`` command: up, web, worker, scheduler, migrate, projections, workspaces, config."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg

from chatassist import corpus_cli, docs_cli, knowledge_cli
from chatassist.audit_cli import add_audit_parser
from chatassist.bootstrap import (
    Container,
    bootstrap,
    build_providers,
    public_url,
    rate_limits,
    start_mail_sender,
    warn_deprecated,
)
from chatassist.pools import connection_budget
from chatassist.settings import (
    Settings,
    ensure_keys_encryption_key,
    ensure_secret_key,
    env_name,
    get_settings,
    laptop_env,
    require_secret_key,
)
from commands.create_workspace import cmd as create_ws
from domain.errors import Conflict
from domain.workspace import DEFAULT_BUDGET_MODEL, DEFAULT_FALLBACK_MODEL, DEFAULT_PRIMARY_MODEL

log = logging.getLogger("chatassist")


def _serve(container: Container, host: str, port: int, demo_key: str | None = None) -> None:
    import uvicorn

    from chatassist.gc_tuning import settle
    from chatassist.integrations import context as integrations_context
    from chatassist.seed import demo_filler
    from domain.decisions.model import warm
    from read_api._live import LiveHub
    from web.app import create_app
    from web.observability import MetricsAccess

    note = mode_note(container)
    require_secret_key(container.settings)
    warm()  # the escalation classifiers train from the corpus once per process: not inside the first chat turn
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=rate_limits(container.settings, container.redis_url),
        demo_widget_key=demo_key,
        mode_note=note,
        analytics=container.analytics,
        live=LiveHub(container.redis_url),
        demo_data=demo_filler(container.app),
        integrations=integrations_context(container),
        metrics_access=MetricsAccess(container.settings.metrics_token),
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown: turn it into SystemExit so our cleanup runs.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    # timeout_graceful_shutdown: live streams (the visitors', /api/*/live) stay open; they reconnect to another process
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        timeout_graceful_shutdown=10,
        **proxy_options(container.settings),
        **uvicorn_logging(container.settings),
    )
    settle()  # start-up objects out of the collector's reach: no full-collection pauses (chatassist/gc_tuning.py)
    uvicorn.Server(config).run()


def uvicorn_logging(settings: Settings) -> dict[str, Any]:
    """uvicorn's loggers at CHATASSIST_LOG_LEVEL; with JSON logs they keep no handler of their own: their lines go out
    as JSON through the root's."""
    from chatassist.observability import json_logs, uvicorn_level

    return {"log_level": uvicorn_level(settings), **({"log_config": None} if json_logs(settings) else {})}


def expose_metrics(container: Container, queues: bool = True) -> None:
    """A process that runs projections (and Dramatiq): measure them at each scrape, and open the metrics port."""
    from chatassist.observability import register_worker_collectors, start_metrics_port

    names: list[str] = []
    if queues:
        from workers.delivery_actors import QUEUES

        names = ["chatassist", *QUEUES.values()]  # workers/actors.py's queue, then the integrations'
    register_worker_collectors(container, names)
    start_metrics_port(container.settings)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy headers: believed only from the peers in CHATASSIST_TRUSTED_PROXIES (uvicorn's own default
    trusts 127.0.0.1, so a local peer could set the client address that the per-IP limits count)."""
    trusted = settings.trusted_proxies.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def mode_note(container: Container) -> str:
    """One line saying how this process answers (shown on the demo page)."""
    if not container.chat.providers.by_name:
        return "Offline mode: no AI provider key is set, so answers come from the workspace's help articles."
    return "AI mode: " + ", ".join(sorted(container.chat.providers.by_name)) + " configured."


def ready_checks(container: Container) -> dict[str, Any]:
    """Readiness probes for /ready."""

    def database() -> None:
        container.app.recorder.max_notification_id()

    def redis_ping() -> None:
        container.redis.ping()

    def projections() -> str | None:  # a notice, not a failure: the other workspaces' views go on
        from projections._parking import parked

        with container.app.recorder.datastore.get_connection() as conn:
            found = parked(conn)
        if not found:
            return None
        names = ", ".join(sorted({f"{p.projection} ({p.scope})" for p in found}))
        return f"{len(found)} workspace(s) parked: {names}; see `chatassist projections parked`"

    return {"database": database, "redis": redis_ping, "projections": projections}


def _start_worker(container: Container, threads: int = 4) -> Any:
    from dramatiq import Worker

    from chatassist.integrations import build_deliverer, start_follower
    from workers.broker import setup_broker
    from workers.deliver import set_deliverer
    from workers.runtime import set_app

    broker = setup_broker(container.redis_url, container.settings.broker_namespace)
    set_app(container.app)
    import workers.actors  # noqa: F401  (actors register on the broker set above)
    from workers import delivery_actors

    settings = container.settings
    set_deliverer(
        build_deliverer(settings, container.database_url, threads, delivery_actors.retry_later, container.app)
    )
    start_follower(container, delivery_actors.enqueue)  # the integrations outbox (one active among the workers)
    worker = Worker(broker, worker_threads=threads)
    worker.start()
    start_mail_sender(container)  # invitations and reset links, when CHATASSIST_SMTP_HOST is set
    return worker


def cmd_worker_actors(settings: Settings, args: argparse.Namespace) -> None:
    """Only the integrations' delivery actors (no projections, no follower): for scaling deliveries out."""
    from dramatiq import Worker

    from chatassist.bootstrap import SMALL_POOL, eventsourcing_env
    from chatassist.integrations import build_deliverer
    from chatassist.pools import harden
    from commands.application import ChatAssistApp
    from workers.broker import setup_broker
    from workers.deliver import set_deliverer

    if not (settings.database_url and settings.redis_url):
        raise SystemExit("error: worker --actors-only needs DATABASE_URL and REDIS_URL (the servers of the others)")
    broker = setup_broker(settings.redis_url, settings.broker_namespace)
    from workers import delivery_actors

    app = ChatAssistApp(env={**eventsourcing_env(settings, settings.database_url), **SMALL_POOL})
    harden(app.recorder.datastore, settings, "worker")
    deliverer = build_deliverer(settings, settings.database_url, args.threads, delivery_actors.retry_later, app)
    set_deliverer(deliverer)
    worker = Worker(broker, worker_threads=args.threads, queues=set(delivery_actors.QUEUES.values()))
    worker.start()
    print(f"worker running: delivery actors, {args.threads} threads", flush=True)
    try:
        _wait_forever()
    finally:
        worker.stop(timeout=10_000)
        deliverer.close()
        app.close()


def _start_scheduler(container: Container) -> Any:
    from workers.actors import close_idle_conversation
    from workers.scheduler import start_scheduler

    scheduler, leadership = start_scheduler(
        container.transcripts,
        container.database_url,
        container.settings.idle_close_minutes,
        close_idle_conversation.send,
    )
    from workers import delivery_actors
    from workers.sweep import sweep_job

    settings = container.settings
    from chatassist.bootstrap import key_cipher
    from commands.integrations.webhooks import disable_endpoint
    from workers.intercom_check import check_intercom_tokens
    from workers.sweep import disable_failing_endpoints

    def disable(workspace_id: Any, endpoint_id: str, reason: str) -> None:
        disable_endpoint(container.app, workspace_id, endpoint_id, reason)

    scheduler.add_job(
        disable_failing_endpoints,
        "interval",
        hours=1,
        args=[container.database_url, disable, 5, leadership],
        id="disable_failing_endpoints",
        max_instances=1,
        coalesce=True,
    )
    from workers.budget_check import check_budget_thresholds
    from workers.retention import erase_expired_personal_data, purge_expired

    scheduler.add_job(
        check_budget_thresholds,
        "interval",
        minutes=5,
        args=[container.app, container.database_url, leadership],
        id="budget_thresholds",
        max_instances=1,
        coalesce=True,
    )

    scheduler.add_job(
        purge_expired,
        "interval",
        hours=24,
        args=[container.app, container.database_url, leadership],
        id="retention_purge",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        erase_expired_personal_data,
        "interval",
        hours=1,
        args=[container.app, leadership],
        id="erase_expired_personal_data",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        check_intercom_tokens,
        "interval",
        hours=24,
        args=[container.app, key_cipher(settings), settings.intercom_api_url, container.database_url, leadership],
        id="intercom_token_check",
        max_instances=1,
        coalesce=True,
    )
    from chatassist.chain import anchor_job

    scheduler.add_job(
        anchor_job,
        "interval",
        minutes=settings.chain_anchor_minutes,
        args=[container.app, container.database_url, leadership],
        id="chain_anchors",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        sweep_job,
        "interval",
        seconds=settings.delivery_sweep_s,
        args=[container.database_url, delivery_actors.enqueue, settings.delivery_grace_s, leadership],
        id="delivery_sweep",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


DEMO_EMAIL, DEMO_NAME = "demo@example.com", "Demo admin"


@dataclass(frozen=True)
class Demo:
    """The laptop demo's workspace, and the sign-in of its admin (None for a demo workspace made before there was
    one: it has no member)."""

    workspace_id: UUID
    widget_key: str
    email: str | None = None
    password: str | None = None


def demo_workspace(container: Container) -> Demo:
    """The demo workspace, created on the first start with an admin whose generated password is kept beside the
    data (``<data dir>/demo-workspace.json``, readable by this user only), and found again on later starts."""
    from commands._common import workspace_for_key
    from commands.sign_up import cmd as sign_up
    from domain.errors import NotFound

    path = container.settings.data_path / "demo-workspace.json"
    if path.exists():
        saved = json.loads(path.read_text())
        try:
            ws = workspace_for_key(container.app, saved["widget_key"])
            return Demo(ws.id, saved["widget_key"], saved.get("email"), saved.get("password"))
        except NotFound:
            pass
    password = secrets.token_urlsafe(12)
    email = DEMO_EMAIL
    try:
        done = sign_up.execute(container.app, sign_up.SignUp(email, password, DEMO_NAME, "Demo workspace"))
    except Conflict:  # the data was kept but this file was not: a fresh address for the new demo admin
        email = f"demo-{secrets.token_hex(3)}@example.com"
        done = sign_up.execute(container.app, sign_up.SignUp(email, password, DEMO_NAME, "Demo workspace"))
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = {
        "workspace_id": str(done.workspace_id),
        "widget_key": done.widget_key,
        "email": email,
        "password": password,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(saved))
    return Demo(done.workspace_id, done.widget_key, email, password)


def demo_banner(url: str, demo: Demo, mode: str) -> str:
    """What ``up`` prints: where to open the dashboard, how to sign in to the demo workspace, the widget demo."""
    if demo.email and demo.password:
        sign_in = f"  sign in: {url}signin as {demo.email} / {demo.password} (the demo workspace's admin)\n"
    else:
        sign_in = (
            f"  the demo workspace has no member: sign up for your own at {url}signup, or delete"
            " demo-workspace.json in the data directory to get a demo workspace with a sign-in\n"
        )
    return (
        f"ChatAssist is running: open {url}\n{sign_in}  widget demo: {url}demo (key {demo.widget_key})\n"
        f"  answering with: {mode}\n"
        f"  try: curl -N {url}api/chat -H 'X-Widget-Key: {demo.widget_key}' -H 'Content-Type: application/json'"
        f' -d \'{{"message": "How do I reset my password?", "user": {{"id": "visitor-1"}}}}\''
    )


def watch_embedded(container: Container) -> None:
    """Restart the embedded servers of a long-running process if they die; exit with status 3 if that fails."""

    def fatal(message: str) -> None:
        log.critical(message)
        print(f"error: {message}", file=sys.stderr, flush=True)
        os._exit(3)  # a clean shutdown would wait on the dead server; our lease goes with the process

    if container.embedded is not None:
        container.embedded.watch(fatal)


def _wait_forever() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def listening(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with the address given on the command line (so links use the port actually listened on)."""
    return replace(settings, host=args.host, port=args.port)


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    """Everything in one process: web, projections, worker, scheduler (laptop mode)."""
    settings = listening(settings, args)
    container = bootstrap(ensure_keys_encryption_key(ensure_secret_key(laptop_env(settings))), kind="up")
    watch_embedded(container)
    container.start_projections()
    worker = _start_worker(container)
    expose_metrics(container)  # on the web port's /metrics too: one process
    scheduler = _start_scheduler(container)
    demo = demo_workspace(container)
    url = public_url(settings) + "/"
    mode = "offline answerer (no provider key set)" if not container.chat.providers.by_name else "AI providers"
    print(demo_banner(url, demo, mode), flush=True)
    try:
        _serve(container, args.host, args.port, demo.widget_key)
    finally:
        log.info("shutting down")
        scheduler.shutdown(wait=False)
        worker.stop(timeout=10_000)
        container.close()
        log.info("stopped")


def cmd_web(settings: Settings, args: argparse.Namespace) -> None:
    """The HTTP API only (run several behind a load balancer, or --workers N processes on one port)."""
    settings = listening(settings, args)
    require_secret_key(settings)
    if args.workers > 1:
        import uvicorn

        bootstrap(settings).close()  # migrations once, before the workers start
        # the worker processes read their settings from the environment: the address listened on included
        os.environ[env_name("host")], os.environ[env_name("port")] = args.host, str(args.port)
        uvicorn.run(
            "chatassist.asgi:create",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            access_log=False,
            timeout_graceful_shutdown=10,
            **proxy_options(settings),
            **uvicorn_logging(settings),
        )
        return
    container = bootstrap(settings, kind="web")
    watch_embedded(container)
    try:
        _serve(container, args.host, args.port)
    finally:
        container.close()


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    """Dramatiq actors and the projections."""
    if args.actors_only:
        cmd_worker_actors(settings, args)
        return
    require_secret_key(settings)
    container = bootstrap(settings, kind="worker")
    watch_embedded(container)
    container.start_projections()
    worker = _start_worker(container, args.threads)
    expose_metrics(container)
    print("worker running: projections", ", ".join(r.projection.name for r in container.runners), flush=True)
    try:
        _wait_forever()
    finally:
        worker.stop(timeout=10_000)
        container.close()


def cmd_scheduler(settings: Settings, args: argparse.Namespace) -> None:
    """Periodic jobs; only one scheduler process is active at a time."""
    container = bootstrap(settings, kind="scheduler")
    watch_embedded(container)
    from workers.broker import setup_broker

    setup_broker(container.redis_url, container.settings.broker_namespace)
    scheduler = _start_scheduler(container)
    print("scheduler running", flush=True)
    try:
        _wait_forever()
    finally:
        scheduler.shutdown(wait=False)
        container.close()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    """Create the event store, tracking and view tables."""
    container = bootstrap(settings)
    container.close()
    print("database is up to date", flush=True)


def cmd_projections(settings: Settings, args: argparse.Namespace) -> None:
    """Run the named projections (default: all) until stopped (an event a view cannot apply parks its workspace for
    that view: see `projections parked`); exit 1 if a runner fails."""
    container = bootstrap(settings, kind="projections")
    watch_embedded(container)
    container.start_projections(args.names or None)
    expose_metrics(container, queues=False)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            failed = [r for r in container.runners if r.error is not None]
            for runner in failed:
                log.error("projection %s stopped: %s", runner.projection.name, runner.error)
            if failed:
                raise SystemExit(1)
    finally:
        container.close()


def cmd_projections_status(settings: Settings, args: argparse.Namespace) -> None:
    """Per projection: its position, the store's newest position among its topics, lag in events and seconds."""
    from chatassist.projection_status import all_statuses

    container = bootstrap(settings)
    try:
        statuses = all_statuses(container, args.names or None)
    finally:
        container.close()
    print(json.dumps([s.to_dict() for s in statuses], indent=2))


def cmd_projections_parked(settings: Settings, args: argparse.Namespace) -> None:
    """The workspaces parked for the named projections (default: all): the event that could not be applied, the
    error, and how many of their later events the view skipped since."""
    from chatassist.parked import list_parked

    container = bootstrap(settings)
    try:
        found = list_parked(container, args.names or None)
    finally:
        container.close()
    print(json.dumps([p.to_dict() for p in found], indent=2))


def cmd_projections_retry(settings: Settings, args: argparse.Namespace) -> None:
    """Re-apply a parked workspace's events to a projection from its parked event, and unpark it (after a fix)."""
    import uuid

    from chatassist.parked import NotParked, retry
    from projections._paging import RetryFailed

    try:
        workspace = uuid.UUID(args.workspace)
    except ValueError:
        raise SystemExit(f"error: WORKSPACE must be a workspace id (a UUID), got {args.workspace!r}") from None
    container = bootstrap(settings)
    try:
        applied = retry(container, args.name, workspace)
    except (NotParked, RetryFailed) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        container.close()
    print(f"{args.name}: workspace {workspace} unparked; {applied} events re-applied", flush=True)


def cmd_projections_rebuild(settings: Settings, args: argparse.Namespace) -> None:
    """Rebuild the named projections (or --all) in one pass over the store into new tables, with a progress bar,
    then swap them in together (the live runners continue)."""
    from chatassist.bootstrap import PROJECTIONS
    from chatassist.rebuild import RebuildRefused, known, rebuild_all
    from projections._paging import ProjectionStopped

    if args.all and args.names:
        print("error: --all rebuilds every projection: name none with it", file=sys.stderr)
        raise SystemExit(2)
    if not args.all and not args.names:
        print("error: name one or more projections, or --all", file=sys.stderr)
        raise SystemExit(2)
    try:
        names = known(args.names or list(PROJECTIONS))
    except RebuildRefused as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    container = bootstrap(settings)
    try:
        rebuild_all(container, names, batch=args.batch, workers=args.workers)  # purges again after its swap
    except (RebuildRefused, ProjectionStopped) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        container.close()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def cmd_workspaces_create(settings: Settings, args: argparse.Namespace) -> None:
    """Create a workspace and print its id and public widget key."""
    from domain.errors import DomainError

    container = bootstrap(settings)
    try:
        created = create_ws.execute(container.app, create_ws.CreateWorkspace(args.name, parse_settings(args.set)))
    except DomainError as err:
        raise SystemExit(f"error: {err.message}") from None
    finally:
        container.close()
    result = {"workspace_id": str(created.workspace_id), "widget_key": created.widget_key, "name": args.name}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"workspace {result['workspace_id']} created; widget key {result['widget_key']}")


def cmd_workspaces_plan(settings: Settings, args: argparse.Namespace) -> None:
    """Move a workspace to a plan (self_hosted, team, business): an ended trial's offline-only answers stop."""
    import uuid

    from commands.change_plan import cmd as change_plan
    from domain.errors import DomainError

    container = bootstrap(settings)
    try:
        plan = change_plan.execute(container.app, change_plan.ChangePlan(uuid.UUID(args.workspace), args.plan))
    except (DomainError, ValueError) as err:
        raise SystemExit(f"error: {getattr(err, 'message', err)}") from None
    finally:
        container.close()
    print(f"workspace {args.workspace} is on the {plan} plan")


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    """Write realistic demo conversations over the last days through the command path (docs/analytics.md)."""
    import uuid

    from chatassist.seed import SeedPlan, seed
    from domain.errors import DomainError

    if args.conversations < 1 or args.days < 1:
        raise SystemExit("error: --conversations and --days must be at least 1")
    try:
        workspace_id = uuid.UUID(args.workspace) if args.workspace else None
    except ValueError:
        raise SystemExit(f"error: --workspace must be a workspace id (a UUID), got {args.workspace!r}") from None
    container = bootstrap(settings)
    try:
        plan = SeedPlan(args.conversations, args.days, workspace_id, args.random_seed, bulk=args.bulk)
        result = seed(container.app, plan)
    except DomainError as err:
        raise SystemExit(f"error: {err.message}") from None
    finally:
        container.close()
    out = {
        "workspace_id": str(result.workspace_id),
        "widget_key": result.widget_key,
        "conversations": result.conversations,
        "events": result.events,
        "prompt_versions": result.prompt_versions,
        "seconds": round(result.seconds, 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            f"seeded workspace {out['workspace_id']} (widget key {out['widget_key']}): {out['conversations']}"
            f" conversations over {args.days} days, {out['events']} events, in {out['seconds']} s",
            flush=True,
        )


def _eval_judge(settings: Settings, args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The LLM judge for ``eval decisions --judge``: the environment's key for the judge model's provider (its
    base URL too, so a local fake can script the answers), one call per uncertain conversation, sequential."""
    import asyncio

    from commands.ai import judge as llm_judge
    from commands.ai.models import provider_for
    from domain.assessment import DEFAULT_TOPICS
    from domain.decisions.judge import Verdict

    name = provider_for(args.judge_model)
    provider = build_providers(settings).by_name.get(name or "")
    if provider is None:
        raise SystemExit(
            f"--judge needs a key for {args.judge_model}'s provider: set "
            f"{'OPENAI_API_KEY' if name == 'openai' else 'ANTHROPIC_API_KEY'} (and its *_BASE_URL for a local fake)."
        )
    topics = [name for name, _ in DEFAULT_TOPICS]
    loop = asyncio.new_event_loop()
    calls: list[Any] = []

    def judge(messages: list[str]) -> Verdict | dict[str, Any]:
        judged = loop.run_until_complete(
            llm_judge.ask(provider, args.judge_model, messages, topics, timeout_s=args.judge_timeout)
        )
        calls.append(judged.call)
        return judged.verdict if judged.verdict is not None else judged.failed_layer() or {}

    return judge, calls


def cmd_eval_decisions(settings: Settings, args: argparse.Namespace) -> None:
    """Measure the escalation and topic decision on the labelled corpus (docs/escalation.md, "The corpus")."""
    from domain.decisions.evaluate import evaluate

    judge, calls = _eval_judge(settings, args) if args.judge else (None, [])
    report = evaluate(args.split, judge)
    cost = sum((c.cost_usd or 0 for c in calls), Decimal(0))
    if args.json:
        print(
            json.dumps(
                {
                    "split": report.split,
                    "overall": report.overall.summary(),
                    "by_language": {k: v.summary() for k, v in sorted(report.by_language.items())},
                    "misses": len(report.misses),
                    "judge": None if judge is None else {**(report.judge or {}), "cost_usd": format(cost, "f")},
                },
                indent=2,
            )
        )
    else:
        print(report.text())
        if judge is not None:
            print(f"LLM judge: {len(calls)} calls on {args.judge_model}, cost {cost:f} USD")
    if args.misses:
        with open(args.misses, "w", encoding="utf-8") as out:
            for miss in report.misses:
                out.write(json.dumps(miss, ensure_ascii=False) + "\n")
        print(f"misses written to {args.misses}", file=sys.stderr)


def cmd_keys_rotate(settings: Settings, args: argparse.Namespace) -> None:
    """Re-encrypt every workspace's provider keys with the current (first) key of CHATASSIST_KEYS_ENCRYPTION_KEY."""
    from commands.rotate_provider_keys import cmd as rotate
    from domain.errors import DomainError
    from domain.provider_keys import ProviderKeyring

    if not settings.keys_encryption_key:
        settings = ensure_keys_encryption_key(settings) if (settings.data_path / "keys.key").exists() else settings
    container = bootstrap(settings)
    try:
        vault = container.chat.providers.vault
        assert vault is not None
        topic = f"{ProviderKeyring.__module__}:{ProviderKeyring.__qualname__}.Created"
        with psycopg.connect(container.database_url) as conn:
            rows = conn.execute(
                f"SELECT DISTINCT originator_id FROM {container.app.name.lower()}_events WHERE topic = %s", (topic,)
            ).fetchall()
        done = rotate.execute(vault, [row[0] for row in rows])
        # each conversation's personal data key too (ADR 0044)
        rewrapped, rewrap_current = container.app.mapper.keys.rewrap()  # type: ignore[attr-defined]
    except DomainError as err:
        raise SystemExit(f"error: {err.message}") from None
    finally:
        container.close()
    print(
        json.dumps(
            {
                "reencrypted": done.reencrypted,
                "already_current": done.current,
                "conversation_keys_rewrapped": rewrapped,
                "conversation_keys_already_current": rewrap_current,
                "current_key_id": vault.cipher.current,
            }
            if vault.cipher
            else {}
        )
    )


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; a VALUE that is JSON (a number, true, ...) is decoded, else kept as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def cmd_config(settings: Settings, args: argparse.Namespace) -> None:
    """Print the effective settings, secrets masked, and model deprecation warnings."""
    shown = {f"{k} ({env_name(k)})": v for k, v in settings.masked().items()}
    warnings = warn_deprecated([DEFAULT_PRIMARY_MODEL, DEFAULT_FALLBACK_MODEL])
    mode = "offline answerer" if not (settings.anthropic_api_key or settings.openai_api_key) else "AI providers"
    print(
        json.dumps(
            {
                "settings": shown,
                "answering_with": mode,
                "default_models": {"primary": DEFAULT_PRIMARY_MODEL, "fallback": DEFAULT_FALLBACK_MODEL},
                "connections": connection_budget(settings),  # PostgreSQL sessions per process (docs/operations.md)
                "warnings": warnings,
            },
            indent=2,
        )
    )


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    settings = get_settings()
    root = argparse.ArgumentParser(prog="chatassist", description="Self-hostable AI support chat.")
    sub = root.add_subparsers(dest="command", required=True)
    for name, fn in (("up", cmd_up), ("web", cmd_web)):
        p = sub.add_parser(name, help=fn.__doc__)
        p.add_argument("--host", default=settings.host)
        p.add_argument("--port", type=int, default=settings.port)
        if name == "web":
            p.add_argument("--workers", type=int, default=1, help="web processes sharing the port")
        p.set_defaults(fn=fn)
    worker = sub.add_parser("worker", help=cmd_worker.__doc__)
    worker.add_argument("--threads", type=_positive, default=4, help="actor threads (default 4)")
    worker.add_argument("--actors-only", action="store_true", help=cmd_worker_actors.__doc__)
    worker.set_defaults(fn=cmd_worker)
    for name, fn in (
        ("scheduler", cmd_scheduler),
        ("migrate", cmd_migrate),
        ("config", cmd_config),
    ):
        sub.add_parser(name, help=fn.__doc__).set_defaults(fn=fn)
    proj = sub.add_parser("projections", help="projection runners").add_subparsers(dest="action", required=True)
    run = proj.add_parser("run", help=cmd_projections.__doc__)
    run.add_argument("names", nargs="*", default=[], help="transcripts, usage, analytics (default: all)")
    run.set_defaults(fn=cmd_projections)
    status = proj.add_parser("status", help=cmd_projections_status.__doc__)
    status.add_argument("names", nargs="*", default=[], help="transcripts, usage, analytics (default: all)")
    status.set_defaults(fn=cmd_projections_status)
    parked = proj.add_parser("parked", help=cmd_projections_parked.__doc__)
    parked.add_argument("names", nargs="*", default=[], help="transcripts, usage, analytics, audit, monitor")
    parked.set_defaults(fn=cmd_projections_parked)
    retry = proj.add_parser("retry", help=cmd_projections_retry.__doc__)
    retry.add_argument("name", metavar="NAME", help="transcripts, usage, analytics, audit or monitor")
    retry.add_argument("workspace", metavar="WORKSPACE", help="the parked workspace's id")
    retry.set_defaults(fn=cmd_projections_retry)
    rebuild = proj.add_parser("rebuild", help=cmd_projections_rebuild.__doc__)
    rebuild.add_argument("names", nargs="*", metavar="NAME", help="transcripts, usage, analytics, audit, monitor")
    rebuild.add_argument("--all", action="store_true", help="every projection (one pass over the store)")
    rebuild.add_argument("--batch", type=_positive, default=10_000, help="events per transaction (default 10000)")
    rebuild.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="processes applying shares of the workspaces at once (default: one per CPU, at most 4; 1: one process)",
    )
    rebuild.set_defaults(fn=cmd_projections_rebuild)
    ws = sub.add_parser("workspaces", help="manage workspaces").add_subparsers(dest="action", required=True)
    create = ws.add_parser("create", help=cmd_workspaces_create.__doc__)
    create.add_argument("name")
    create.add_argument("--json", action="store_true", help="print the result as JSON")
    create.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a workspace setting, e.g. --set monthly_token_budget=0 (repeatable)",
    )
    create.set_defaults(fn=cmd_workspaces_create)
    plan = ws.add_parser("plan", help=cmd_workspaces_plan.__doc__)
    plan.add_argument("workspace", help="the workspace id")
    plan.add_argument("plan", help="self_hosted, team or business")
    plan.set_defaults(fn=cmd_workspaces_plan)
    seed = sub.add_parser("seed", help=cmd_seed.__doc__)
    seed.add_argument("--conversations", type=int, required=True, help="how many conversations to write")
    seed.add_argument("--workspace", help="an existing workspace id (default: a new demo workspace)")
    seed.add_argument("--days", type=int, default=60, help="spread them over the last DAYS days (default 60)")
    seed.add_argument("--random-seed", type=int, default=None, help="repeatable output")
    seed.add_argument("--bulk", action="store_true", help="save many conversations per transaction (benchmarks)")
    seed.add_argument("--json", action="store_true", help="print the result as JSON")
    seed.set_defaults(fn=cmd_seed)
    evals = sub.add_parser("eval", help="measure decisions on the corpus").add_subparsers(dest="what", required=True)
    decisions = evals.add_parser("decisions", help=cmd_eval_decisions.__doc__)
    splits = ["train", "dev", "test", "all", "blind", "blind2", "blind3", "blind4"]
    decisions.add_argument(
        "--split", choices=splits, default="dev", help="default dev; blind to blind4: the blind sets"
    )
    decisions.add_argument("--misses", metavar="PATH", help="write the misses there, one JSON object per line")
    decisions.add_argument("--json", action="store_true", help="print the figures as JSON")
    decisions.add_argument("--judge", action="store_true", help="ask the LLM judge on the uncertain conversations")
    decisions.add_argument("--judge-model", default=DEFAULT_BUDGET_MODEL, help="default the cheap model")
    decisions.add_argument("--judge-timeout", type=float, default=10.0, help="seconds per call, default 10")
    decisions.set_defaults(fn=cmd_eval_decisions)
    keys = sub.add_parser("keys", help="provider API keys").add_subparsers(dest="action", required=True)
    keys.add_parser("rotate", help=cmd_keys_rotate.__doc__).set_defaults(fn=cmd_keys_rotate)
    knowledge_cli.add_parser(sub)  # knowledge import, knowledge eval (chatassist/knowledge_cli.py)
    corpus_cli.add_parser(sub)  # corpus export-recalls (chatassist/corpus_cli.py)
    add_audit_parser(sub)  # chatassist audit replay|request|export (chatassist/audit_cli.py)
    docs_cli.add_parser(sub)  # chatassist docs generate|build|serve (chatassist/docs_cli.py)
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    settings = get_settings()
    if os.environ.get("CHATASSIST_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(os.environ["CHATASSIST_SWITCH_INTERVAL"]))
    from chatassist.observability import configure_logging

    configure_logging(settings)  # text, or JSON lines with the request id (CHATASSIST_LOG_FORMAT)
    args = parser().parse_args(argv)
    args.fn(settings, args)


if __name__ == "__main__":
    main()
