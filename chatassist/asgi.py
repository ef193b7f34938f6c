"""ASGI entry point for process managers: ``uvicorn --factory chatassist.asgi:create`` (and ``web --workers N``)."""

from __future__ import annotations

from litestar import Litestar

from chatassist.bootstrap import bootstrap, rate_limits
from chatassist.settings import get_settings, require_secret_key


def create() -> Litestar:
    """Wire this process (no migrations: run ``chatassist migrate`` first) and build the HTTP app."""
    from chatassist.cli import mode_note, ready_checks
    from chatassist.gc_tuning import settle
    from chatassist.integrations import context as integrations_context
    from chatassist.observability import configure_logging
    from chatassist.seed import demo_filler
    from read_api._live import LiveHub
    from web.app import create_app
    from web.observability import MetricsAccess

    configure_logging(get_settings())  # a process of its own: text or JSON lines (CHATASSIST_LOG_FORMAT)
    container = bootstrap(require_secret_key(get_settings()), run_migrations=False, kind="web")
    assert container.auth is not None
    app = create_app(
        container.chat,
        container.transcripts,
        ready_checks(container),
        auth=container.auth,
        rate_limits=rate_limits(container.settings, container.redis_url),
        mode_note=mode_note(container),
        analytics=container.analytics,
        live=LiveHub(container.redis_url),
        demo_data=demo_filler(container.app),
        integrations=integrations_context(container),
        metrics_access=MetricsAccess(container.settings.metrics_token),
    )
    app.on_shutdown.append(lambda: container.close())
    app.on_startup.append(settle)  # no full-collection pauses (chatassist/gc_tuning.py)
    return app
