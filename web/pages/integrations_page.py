"""Integrations and webhooks (Admins, ``integrations.manage``): a card per integration with its status (Connected,
Not connected, Disconnected and why), connect / test / disconnect; the webhook endpoints (events, masked secret,
send a test event, rotate the secret, enable/disable, remove); the delivery log with status filters, dead letters
and redelivery.

The reads are those of GET /api/integrations and GET /api/integrations/deliveries; every action posts to the JSON
API from web/static/admin.js."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get

from commands.integrations import slack_channels
from commands.integrations import webhooks as wh
from domain.errors import DomainError
from read_api.get_deliveries import query as deliveries
from read_api.get_transcript.query import TranscriptSource
from web.guards import GUARDS
from web.integrations_controller import IntegrationsView, overview
from web.pages._render import html, render
from web.pages.shell import shell_of

LOG_SIZE = 50
FILTERS = (
    ("", "All"),
    ("pending", "Pending"),
    ("delivering", "Delivering"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("dead", "Dead"),
    ("dead_letters", "Dead letters"),
)
EVENT_LABELS = {
    "message.created": "a message is written (visitor, AI or agent)",
    "escalation.triggered": "a chat is escalated to a person",
    "conversation.closed": "a chat is closed",
    "conversation.resolved": "a chat is resolved",
    "csat.rated": "a visitor rates the chat",
    "handoff.claimed": "an agent claims a chat",
    "budget.threshold": "80 %, 95 % and 100 % of the monthly token budget",
    "webhook.test": "the test event (sent by \u201csend test event\u201d only)",
}


CONNECTED_PREFIX = "Connected: "  # how the read model words a test that worked


@dataclass(frozen=True)
class Card:
    """An integration's card: its state in a word and a sentence."""

    key: str
    name: str
    state: str  # connected, not_connected, disconnected, failing
    label: str
    sentence: str
    tested: str = ""  # the last test with the vendor, when it worked ("Connected: … (tested <date>).")

    @property
    def tested_line(self) -> str:
        """The last working test as the card words it under its sentence, without repeating "Connected" (the
        badge and the sentence say it): "Last test passed: the access token reads contacts (2026-12-08)."."""
        if not self.tested.startswith(CONNECTED_PREFIX):
            return self.tested
        return "Last test passed: " + self.tested.removeprefix(CONNECTED_PREFIX).replace("(tested ", "(")


def _health(name: str, view: Any, what: str, failing: bool) -> Card:
    """The card of Slack, Zendesk or HubSpot: not connected; disconnected (the vendor refused the credential on
    the last test, with when and why); connected but failing deliveries; or connected."""
    last_error, dead = view.last_error, view.dead_letters
    if not view.connected:
        return Card(name.lower(), name, "not_connected", "Not connected", f"Not connected — {what}")
    if view.ok is False:
        return Card(name.lower(), name, "disconnected", "Disconnected", view.status or "Disconnected.")
    tested = view.status or ""
    if failing:
        tail = f" ({dead} dead letters)" if dead else ""
        return Card(name.lower(), name, "failing", "Connected, failing",
                    f"Connected — the last delivery failed: {last_error or 'no answer'}{tail}", tested)  # fmt: skip
    return Card(name.lower(), name, "connected", "Connected", f"Connected — {what}", tested)


def cards_of(view: IntegrationsView, channel_names: dict[str, str] | None = None) -> list[Card]:
    """Slack, Zendesk, HubSpot and Intercom as the cards show them (``channel_names``: Slack channel ids to
    names, as the channel picker lists them)."""

    def failing(h: Any) -> bool:
        return h.last_error_at is not None and (h.last_success_at is None or h.last_error_at > h.last_success_at)

    s, z, h, i = view.slack, view.zendesk, view.hubspot, view.intercom
    channel = (channel_names or {}).get(s.channel or "", s.channel)
    slack_what = f"escalation alerts and resolution summaries posted to {channel}" if channel else (
        "escalation alerts and resolution summaries posted in real time")  # fmt: skip
    cards = [
        _health("Slack", s, slack_what, failing(s)),
        _health("Zendesk", z, "AI-resolved chats logged as solved tickets with the transcript; escalations open "
                "tickets", failing(z)),
        _health("HubSpot", h, "closed chats upsert the contact and add a note with the summary", failing(h)),
    ]  # fmt: skip
    if not i.connected:
        cards.append(Card("intercom", "Intercom", "not_connected", "Not connected",
                          "Not connected — an access token, checked daily"))  # fmt: skip
    elif i.ok is False:
        cards.append(Card("intercom", "Intercom", "disconnected", "Disconnected", i.status or "Disconnected."))
    else:
        cards.append(Card("intercom", "Intercom", "connected", "Connected", "Connected — the access token works"))
    return cards


def _target_names(view: IntegrationsView) -> dict[str, str]:
    return {e.id: e.url for e in view.webhooks}


@get("/app/integrations", guards=[GUARDS["integrations.manage"]], include_in_schema=False, name="integrations")
async def integrations_page(
    request: Request[Any, Any, Any], integrations: wh.Context, transcripts: TranscriptSource, status: str = ""
) -> Response[str]:
    """Third-party integrations, webhook endpoints and the delivery log."""
    shell = await shell_of(request, "integrations")
    ws = shell.member.workspace_id
    if status not in dict(FILTERS):
        status = ""
    view = await anyio.to_thread.run_sync(overview, integrations, transcripts, ws)
    log = await anyio.to_thread.run_sync(
        deliveries.list_deliveries, transcripts, ws, status or None, None, LOG_SIZE, None
    )
    picker: list[slack_channels.Channel] = []
    picker_error = ""
    if view.slack.connected and view.slack.mode == "bot" and view.slack.ok is not False:
        try:  # the channel picker: the channels the bot can post to, asked of Slack now
            picker = await anyio.to_thread.run_sync(slack_channels.channels, integrations, ws)
        except DomainError as exc:
            picker_error = exc.message
    context = {
        "slack_install": integrations.slack_app is not None,
        "hubspot_install": integrations.hubspot_app is not None,
        "zendesk_subdomains": sorted(integrations.zendesk_apps.clients) if integrations.zendesk_apps else [],
        "zendesk_options": [(sub, f"{sub}.zendesk.com") for sub in sorted(integrations.zendesk_apps.clients)]
        if integrations.zendesk_apps
        else [],
        "slack_installed": request.query_params.get("slack") == "installed",
        "slack_channels": picker,
        "slack_channel_names": {c.id: "#" + c.name for c in picker},
        "slack_channel_options": [(c.id, "#" + c.name + (" (private)" if c.private else "")) for c in picker],
        "slack_picker_error": picker_error,
        "shell": shell,
        "view": view,
        "cards": cards_of(view, {c.id: "#" + c.name for c in picker}),
        "log": log.deliveries,
        "filters": FILTERS,
        "status": status,
        "targets": _target_names(view),
        "event_labels": EVENT_LABELS,
        "can_store": integrations.cipher is not None,
        "dead_states": deliveries.DEAD_LETTERS,
    }
    return html(render("pages/integrations.html.j2", **context))
