"""The Litestar app factory. Everything it serves is injected, so tests and the CLI build it the same way."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from litestar import Litestar, Request, Response, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from commands._widget_security import WidgetGuard
from commands.chat_turn.service import ChatService
from commands.integrations.webhooks import Context as IntegrationsContext
from read_api._analytics import AnalyticsSource
from read_api._live import LiveHub
from read_api._reads import AsyncReader
from read_api.get_transcript.controller import TranscriptController
from read_api.get_transcript.query import TranscriptSource
from web.agent_controller import AgentController
from web.analytics import analytics_router
from web.audit import audit_router
from web.audit_erasure import audit_erasure_router
from web.audit_replay import audit_replay_router
from web.auth import Auth, SessionChecks, current_member
from web.auth_controller import AuthController
from web.chat import ChatController
from web.conversation_stream import ConversationStreamController
from web.cors import widget_cors
from web.deps import transcript_workspace_id, widget_workspace, widget_workspace_id
from web.errors import EXCEPTION_HANDLERS
from web.escalation_controller import EscalationController
from web.health import ReadyChecks, health, ready
from web.integrations_controller import IntegrationsController
from web.knowledge_controller import KnowledgeController
from web.live import ConversationSignals
from web.monitor import monitor_router
from web.observability import MetricsAccess, metrics, observe_requests
from web.openapi import DocumentedJsonRenderPlugin
from web.pages import pages_router
from web.password_reset import PasswordResetController, PasswordResets
from web.prompts_controller import PromptsController
from web.ratelimit import RateLimits
from web.request import CheckedRequest, check_query
from web.security_headers import security_headers
from web.settings_controller import SettingsController
from web.team_controller import TeamController
from web.widget_config import WidgetConfigController, widget_script
from web.widget_security_controller import WidgetSecurityController

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64 * 1024
WIDGET_KEY = re.compile(r"wk_[A-Za-z0-9_-]{4,100}")
STATIC_CACHE = CacheControlHeader(max_age=3600, public=True)


@get("/widget.js", operation_id="widgetScript", tags=["widget"], include_in_schema=False)
async def widget_js(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The embeddable widget (gzipped when the browser takes it)."""
    body, headers = widget_script(request.headers.get("accept-encoding", ""))
    return Response(body, media_type="application/javascript", headers=headers)


def logging_config() -> LoggingConfig:
    """Litestar's own logger at the process's level, and the root logger left alone: Litestar's default configures
    the root at INFO, which let every library (the SDKs' HTTP clients among them) log per request whatever
    CHATASSIST_LOG_LEVEL said."""
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return LoggingConfig(
        configure_root_logger=False,
        loggers={"litestar": {"level": level, "handlers": ["queue_listener"], "propagate": False}},
    )


def create_app(
    chat: ChatService,
    transcripts: TranscriptSource,
    ready_checks: ReadyChecks,
    *,
    auth: Auth,
    rate_limits: RateLimits | None = None,
    widget_guard: WidgetGuard | None = None,
    password_resets: PasswordResets | None = None,
    demo_widget_key: str | None = None,
    mode_note: str = "",
    analytics: AnalyticsSource | None = None,
    conversation_signals: ConversationSignals | None = None,
    live: LiveHub | None = None,
    demo_data: Callable[[UUID], int] | None = None,
    integrations: IntegrationsContext | None = None,
    metrics_access: MetricsAccess | None = None,
    debug: bool = False,
) -> Litestar:
    """Build the HTTP app around already-wired services. ``conversation_signals`` default: wake-ups on the Redis
    of ``auth`` (web/live.py). ``live``: the Redis subscription of the SSE dashboards (without one, they
    refresh on their heartbeat only). ``demo_data``: fills a workspace with demo conversations (the dashboard's
    "Fill demo data" button; chatassist/seed.py), None to offer no such button. ``integrations``: the integration
    commands' context (default: the chat service's key vault cipher, private endpoint URLs refused)."""
    signals = conversation_signals or ConversationSignals(auth.redis)
    live_hub = live or LiveHub(None)
    limits = rate_limits or RateLimits()
    reader = AsyncReader(analytics or transcripts)  # the dashboards' queries, from the event loop
    session_checks = SessionChecks(auth, limits)

    @get("/demo", operation_id="demoPage", include_in_schema=False)
    async def demo_page(key: str | None = None) -> Response[str]:
        """The widget on a sample site: the demo workspace's key, or the workspace key given (``?key=wk_...``,
        linked from a new workspace's dashboard so its admin can try the widget on their own workspace)."""
        page = (STATIC / "demo.html").read_text()
        chosen = key if key and WIDGET_KEY.fullmatch(key) else demo_widget_key
        page = page.replace("{{ widget_key }}", html.escape(chosen or ""))
        page = page.replace("{{ mode_note }}", html.escape(mode_note))
        return Response(page, media_type="text/html")

    def const(value: Any) -> Provide:
        async def provide() -> Any:
            return value

        return Provide(provide, use_cache=True)

    return Litestar(
        route_handlers=[
            ChatController,
            ConversationStreamController,  # /api/conversations/{id}/events (the visitor's live stream)
            AgentController,  # /api/agent/conversations/{id}/... (the human handoff)
            TranscriptController,
            analytics_router(),  # /api/analytics/{overview,activity,usage,topics,prompt-versions,models}
            audit_router(),  # /api/audit, /api/audit/export
            audit_replay_router(),  # /api/audit/conversations/{id}/... (replay, issue 17)
            audit_erasure_router(),  # POST /api/audit/erasures (crypto-shredding, issue 17)
            monitor_router(),  # /api/monitor, /api/monitor/live
            AuthController,
            TeamController,
            SettingsController,
            WidgetSecurityController,
            WidgetConfigController,  # /api/widget/config (the widget's settings, by widget key)
            PromptsController,  # /api/admin/prompts
            EscalationController,  # /api/admin/escalation/decide
            KnowledgeController,  # /api/knowledge/articles, /api/knowledge/gaps
            PasswordResetController,
            IntegrationsController,  # /api/integrations/...
            health,
            ready,
            metrics,  # GET /metrics, for the callers metrics_access admits (web/observability.py)
            widget_js,
            demo_page,
            pages_router(),  # the dashboard: /, /signin, /signup, /app... (web/pages)
            create_static_files_router(
                path="/static", directories=[STATIC], cache_control=STATIC_CACHE, include_in_schema=False
            ),
        ],
        dependencies={
            "chat": const(chat),
            "transcripts": const(transcripts),
            "analytics": const(analytics or transcripts),  # any view on the database can run the queries
            "monitor": const(analytics or transcripts),
            "live_hub": const(live_hub),
            "reader": const(reader),
            "ready_checks": const(ready_checks),
            "metrics_access": const(metrics_access or MetricsAccess()),
            "auth": const(auth),
            "rate_limits": const(limits),
            "current_member": Provide(current_member),
            "widget_guard": const(
                widget_guard or WidgetGuard(auth.app, auth.signer.secret, cache_ttl_s=chat.cache_ttl_s)
            ),
            "password_resets": const(password_resets or PasswordResets(auth)),
            "widget_workspace": Provide(widget_workspace),
            "widget_workspace_id": Provide(widget_workspace_id),
            "transcript_workspace_id": Provide(transcript_workspace_id),
            "conversation_signals": const(signals),
            "integrations": const(
                integrations
                or IntegrationsContext(chat.app, chat.providers.vault.cipher if chat.providers.vault else None)
            ),
        },
        on_shutdown=[signals.close, live_hub.close, session_checks.close, reader.close],
        state=State({"auth": auth, "session_checks": session_checks, "mode_note": mode_note, "demo_data": demo_data}),
        exception_handlers=EXCEPTION_HANDLERS,
        # request id and route latency (web/observability.py); CORS per workspace for the widget endpoints (web/cors.py)
        middleware=[observe_requests, security_headers, widget_cors],
        openapi_config=OpenAPIConfig(
            title="ChatAssist API",
            version="0.1.0",
            path="/schema",
            render_plugins=[  # served from this installation (scripts/vendor.py), not a CDN
                SwaggerRenderPlugin(
                    js_url="/static/vendor/swagger-ui-bundle.js",
                    css_url="/static/vendor/swagger-ui.css",
                    standalone_preset_js_url="/static/vendor/swagger-ui-standalone-preset.js",
                    favicon="<link rel='icon' type='image/png' href='/static/vendor/swagger-favicon-32x32.png'>",
                ),
                DocumentedJsonRenderPlugin(),  # /schema/openapi.json with every error documented: web/openapi.py
            ],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        # every JSON body and query string checked for characters a view cannot store (web/request.py); a layer
        # below (a controller, a handler) must not set its own before_request: it would replace this one
        request_class=CheckedRequest,
        before_request=check_query,
        logging_config=logging_config(),
        debug=debug,
    )
