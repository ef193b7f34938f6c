"""/api/integrations: webhook endpoints, Slack, the delivery log and redelivery. Admins only (integrations.manage).

Every change is a command recording an event (in the audit log with its actor); nothing here sends anything: the
workers deliver from the event store. Secrets appear in clear once, in the answer that created them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.params import Parameter

from commands._lazy import read_or_none
from commands.integrations import credential_test, slack_channels
from commands.integrations import hubspot as hubspot_cmd
from commands.integrations import intercom as intercom_cmd
from commands.integrations import slack as slack_cmd
from commands.integrations import webhooks as wh
from commands.integrations import zendesk as zendesk_cmd
from domain.errors import Conflict, InvalidInput, NotFound
from domain.integrations import EVENT_TYPES, SYSTEM_NAMES, Integrations, integrations_id
from read_api.get_deliveries import query as deliveries
from read_api.get_transcript.query import TranscriptSource
from web.auth import Member
from web.guards import GUARDS

GUARD = [GUARDS["integrations.manage"]]


class EndpointRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A new webhook endpoint."""

    url: str
    event_types: list[str]
    description: str = ""


class EndpointView(msgspec.Struct):
    """An endpoint; ``secret`` is masked (``whsec_…`` and its last four)."""

    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    secret: str
    previous_secret_valid_until: str | None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    dead_letters: int = 0


class EndpointCreated(msgspec.Struct):
    """The endpoint and its signing secret, in clear this once: store it now."""

    endpoint: EndpointView
    secret: str


class SlackRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``mode`` webhook with ``webhook_url``, or bot with ``bot_token`` and ``channel``."""

    mode: str
    webhook_url: str | None = None
    bot_token: str | None = None
    channel: str | None = None


class SlackChannelRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The id of a channel from GET /api/integrations/slack/channels."""

    channel: str


class SlackChannelView(msgspec.Struct):
    """A channel the bot can post to."""

    id: str
    name: str
    private: bool


class SlackChannels(msgspec.Struct):
    """The channels the bot can post to, and the one alerts go to now."""

    channels: list[SlackChannelView]
    current: str | None


class ZendeskRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The account's subdomain, an agent's email and API token; ``base_url`` for a regional host;
    ``route_groups`` maps escalation routes to Zendesk group ids."""

    subdomain: str
    email: str
    api_token: str
    base_url: str | None = None
    route_groups: dict[str, int] = msgspec.field(default_factory=dict)


class ZendeskView(msgspec.Struct):
    """Zendesk's connection: the token masked, and health."""

    connected: bool
    subdomain: str | None = None
    email: str | None = None
    base_url: str | None = None
    route_groups: dict[str, int] | None = None
    api_token: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    dead_letters: int = 0
    ok: bool | None = None  # the last test with the vendor (on connect or "Test"): None when never tested
    status: str | None = None  # "Connected: …" or "Disconnected: … rejected the credential on <date> (why); reconnect."
    checked_at: datetime | None = None
    detail: str | None = None
    notice: str | None = None  # in the answer of a test the vendor could not answer: nothing was recorded


class HubSpotRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A HubSpot private app's access token (scopes: crm.objects.contacts.write, notes)."""

    access_token: str


class HubSpotView(msgspec.Struct):
    """HubSpot's connection: the token masked, and health."""

    connected: bool
    access_token: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    dead_letters: int = 0
    ok: bool | None = None  # the last test with the vendor (on connect or "Test"): None when never tested
    status: str | None = None  # "Connected: …" or "Disconnected: … rejected the credential on <date> (why); reconnect."
    checked_at: datetime | None = None
    detail: str | None = None
    notice: str | None = None  # in the answer of a test the vendor could not answer: nothing was recorded


class IntercomRequest(msgspec.Struct, forbid_unknown_fields=True):
    """An Intercom access token (checked with ``GET /me`` before it is stored)."""

    access_token: str


class IntercomView(msgspec.Struct):
    """Whether Intercom's token still works: ``status`` says so in a sentence (when and why if not)."""

    connected: bool
    ok: bool | None = None
    status: str | None = None
    checked_at: datetime | None = None
    detail: str | None = None
    access_token: str | None = None
    notice: str | None = None  # in the answer of a check Intercom could not answer: nothing was recorded


def intercom_view(connection: Any) -> IntercomView:
    """The view of an ``IntercomConnection`` (None: not connected)."""
    if connection is None:
        return IntercomView(False)
    return IntercomView(
        True,
        connection.ok,
        connection.status(),
        connection.checked_at,
        connection.detail,
        "…" + connection.secret.last4,
    )


class SlackView(msgspec.Struct):
    """Slack's connection: masked credential, channel, health."""

    connected: bool
    mode: str | None = None
    channel: str | None = None
    credential: str | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    dead_letters: int = 0
    ok: bool | None = None  # the last test with the vendor (on connect or "Test"): None when never tested
    status: str | None = None  # "Connected: …" or "Disconnected: … rejected the credential on <date> (why); reconnect."
    checked_at: datetime | None = None
    detail: str | None = None
    notice: str | None = None  # in the answer of a test the vendor could not answer: nothing was recorded


class IntegrationsView(msgspec.Struct):
    """Every integration of the workspace and the event types an endpoint may subscribe to."""

    webhooks: list[EndpointView]
    slack: SlackView
    zendesk: ZendeskView
    hubspot: HubSpotView
    intercom: IntercomView
    event_types: list[str]


class TestSent(msgspec.Struct):
    """The test delivery's id: follow it in the delivery log."""

    test_id: str
    delivery_id: str


def _endpoint(raw: dict[str, Any], health: dict[str, deliveries.TargetHealth]) -> EndpointView:
    view = EndpointView(**raw)
    found = health.get(view.id)
    if found is not None:
        view.last_success_at, view.last_error_at = found.last_success_at, found.last_error_at
        view.last_error, view.dead_letters = found.last_error, found.dead_letters
    return view


def with_check(view: Any, integrations: Integrations | None, system: str) -> Any:
    """The view with the system's last credential test (connected, or disconnected with when and why)."""
    found = integrations.checks.get(system) if integrations is not None else None
    if found is not None and view.connected:
        view.ok, view.status, view.checked_at = found.ok, found.status(SYSTEM_NAMES[system]), found.checked_at
        view.detail = found.detail
    return view


def credential_view(integrations: Integrations, system: str) -> Any:
    """The connection's view (without delivery health) as a connect or a test leaves it."""
    if system == "slack" and integrations.slack is not None:
        s = integrations.slack
        view: Any = SlackView(True, s.mode, s.channel, "…" + s.secret.last4)
    elif system == "zendesk" and integrations.zendesk is not None:
        view = ZendeskView(True, **integrations.zendesk.to_dict())
    elif system == "hubspot" and integrations.hubspot is not None:
        view = HubSpotView(True, "…" + integrations.hubspot.last4)
    else:
        raise NotFound(f"{SYSTEM_NAMES[system]} is not connected.", code="integration_not_connected")
    return with_check(view, integrations, system)


def overview(ctx: wh.Context, view: TranscriptSource, workspace_id: UUID) -> IntegrationsView:
    """The workspace's integrations with their health."""
    integrations = read_or_none(ctx.app, integrations_id(workspace_id), Integrations)
    health = deliveries.target_health(view, workspace_id)
    endpoints = [_endpoint(e.to_dict(), health) for e in (integrations.endpoints.values() if integrations else [])]
    slack = SlackView(False)
    if integrations is not None and integrations.slack is not None:
        s = integrations.slack
        found = health.get(f"slack:{integrations.id}")
        slack = SlackView(True, s.mode, s.channel, "…" + s.secret.last4)
        if found is not None:
            slack.last_success_at, slack.last_error_at = found.last_success_at, found.last_error_at
            slack.last_error, slack.dead_letters = found.last_error, found.dead_letters
    zendesk = ZendeskView(False)
    if integrations is not None and integrations.zendesk is not None:
        zendesk = ZendeskView(True, **integrations.zendesk.to_dict())
        found = health.get(f"zendesk:{integrations.id}")
        if found is not None:
            zendesk.last_success_at, zendesk.last_error_at = found.last_success_at, found.last_error_at
            zendesk.last_error, zendesk.dead_letters = found.last_error, found.dead_letters
    hubspot = HubSpotView(False)
    if integrations is not None and integrations.hubspot is not None:
        hubspot = HubSpotView(True, "…" + integrations.hubspot.last4)
        found = health.get(f"hubspot:{integrations.id}")
        if found is not None:
            hubspot.last_success_at, hubspot.last_error_at = found.last_success_at, found.last_error_at
            hubspot.last_error, hubspot.dead_letters = found.last_error, found.dead_letters
    intercom = intercom_view(integrations.intercom if integrations is not None else None)
    slack, zendesk, hubspot = (
        with_check(v, integrations, k) for k, v in (("slack", slack), ("zendesk", zendesk), ("hubspot", hubspot))
    )
    return IntegrationsView(endpoints, slack, zendesk, hubspot, intercom, list(EVENT_TYPES))


def test_delivery_id(test_id: str, endpoint_id: str) -> str:
    """The id the follower gives the test delivery (md5 of its key, as a UUID)."""
    import hashlib

    return str(UUID(hashlib.md5(f"{test_id}:{endpoint_id}".encode()).hexdigest()))


class IntegrationsController(Controller):
    """Admins connect, test, change and disconnect integrations and read the delivery log."""

    path = "/api/integrations"
    tags = ["integrations"]
    guards = GUARD

    @get("/", operation_id="getIntegrations", summary="Integrations and their health")
    async def get_all(self, integrations: wh.Context, transcripts: TranscriptSource, current_member: Member) -> Any:
        """Webhook endpoints (secrets masked) and Slack, each with its last success and last error."""
        return await anyio.to_thread.run_sync(overview, integrations, transcripts, current_member.workspace_id)

    @post("/webhooks", operation_id="addWebhookEndpoint", summary="Add a webhook endpoint")
    async def add(self, data: EndpointRequest, integrations: wh.Context, current_member: Member) -> EndpointCreated:
        """Validates the URL (https, public address) and event types; returns the signing secret once."""
        cmd = wh.AddEndpoint(
            current_member.workspace_id, current_member.account_id, data.url, data.event_types, data.description
        )
        created = await anyio.to_thread.run_sync(wh.add_endpoint, integrations, cmd)
        return EndpointCreated(EndpointView(**created.endpoint.to_dict()), created.secret)

    @patch("/webhooks/{endpoint_id:str}", operation_id="changeWebhookEndpoint", summary="Change an endpoint")
    async def change(
        self, endpoint_id: str, data: dict[str, Any], integrations: wh.Context, current_member: Member
    ) -> EndpointView:
        """Any of url, event_types, description, enabled."""
        if not isinstance(data, dict) or not data:
            raise InvalidInput("Send a JSON object with the fields to change.", code="no_changes")
        changed = await anyio.to_thread.run_sync(
            wh.change_endpoint,
            integrations,
            current_member.workspace_id,
            current_member.account_id,
            endpoint_id,
            data,
        )
        return EndpointView(**changed.to_dict())

    @delete("/webhooks/{endpoint_id:str}", operation_id="removeWebhookEndpoint", summary="Remove an endpoint")
    async def remove(self, endpoint_id: str, integrations: wh.Context, current_member: Member) -> None:
        """Stop delivering to the endpoint; its delivery log stays."""
        await anyio.to_thread.run_sync(
            wh.remove_endpoint, integrations, current_member.workspace_id, current_member.account_id, endpoint_id
        )

    @post("/webhooks/{endpoint_id:str}/rotate-secret", operation_id="rotateWebhookSecret", status_code=200)
    async def rotate(self, endpoint_id: str, integrations: wh.Context, current_member: Member) -> EndpointCreated:
        """A new secret (returned once); deliveries carry signatures with both for 24 hours."""
        created = await anyio.to_thread.run_sync(
            wh.rotate_secret, integrations, current_member.workspace_id, current_member.account_id, endpoint_id
        )
        return EndpointCreated(EndpointView(**created.endpoint.to_dict()), created.secret)

    @post("/webhooks/{endpoint_id:str}/test", operation_id="sendWebhookTest", status_code=202)
    async def test(self, endpoint_id: str, integrations: wh.Context, current_member: Member) -> TestSent:
        """Queue a ``webhook.test`` delivery to the endpoint; its outcome appears in the delivery log."""
        test_id = await anyio.to_thread.run_sync(
            wh.send_test, integrations, current_member.workspace_id, current_member.account_id, endpoint_id
        )
        return TestSent(test_id, test_delivery_id(test_id, endpoint_id))

    @put("/slack", operation_id="connectSlack", summary="Connect Slack")
    async def connect_slack(self, data: SlackRequest, integrations: wh.Context, current_member: Member) -> SlackView:
        """An incoming webhook URL, or a bot token and a channel; stored encrypted, shown by its last four."""
        credential = data.webhook_url if data.mode == "webhook" else data.bot_token
        cmd = slack_cmd.ConnectSlack(
            current_member.workspace_id, current_member.account_id, data.mode, credential or "", data.channel
        )
        await anyio.to_thread.run_sync(slack_cmd.connect, integrations, cmd)
        return await self._connection(integrations, current_member, "slack")  # type: ignore[no-any-return]

    @delete("/slack", operation_id="disconnectSlack", summary="Disconnect Slack")
    async def disconnect_slack(self, integrations: wh.Context, current_member: Member) -> None:
        """Revoke a bot token at Slack (``auth.revoke``, recorded in the audit log) and forget the credential;
        nothing more is sent there."""
        await anyio.to_thread.run_sync(
            slack_cmd.disconnect, integrations, current_member.workspace_id, current_member.account_id
        )

    @get("/slack/channels", operation_id="listSlackChannels", summary="Channels the Slack bot can post to")
    async def slack_channels(self, integrations: wh.Context, current_member: Member) -> SlackChannels:
        """``conversations.list`` with the stored bot token, the channels the bot is a member of; 409
        ``slack_unavailable`` when Slack refuses, 422 ``slack_channel_fixed`` for an incoming webhook."""
        ws = current_member.workspace_id

        def run() -> SlackChannels:
            found = slack_channels.channels(integrations, ws)
            current = wh.existing(integrations.app, ws).slack
            views = [SlackChannelView(c.id, c.name, c.private) for c in found]
            return SlackChannels(views, current.channel if current is not None else None)

        return await anyio.to_thread.run_sync(run)

    @put("/slack/channel", operation_id="chooseSlackChannel", summary="Choose the Slack alert channel")
    async def choose_slack_channel(
        self, data: SlackChannelRequest, integrations: wh.Context, current_member: Member
    ) -> SlackView:
        """One of the bot's channels (422 ``invalid_channel`` otherwise); alerts go there from the next event on."""
        await anyio.to_thread.run_sync(
            slack_channels.choose, integrations, current_member.workspace_id, data.channel, current_member.account_id
        )
        return await self._connection(integrations, current_member, "slack")  # type: ignore[no-any-return]

    @put("/zendesk", operation_id="connectZendesk", summary="Connect Zendesk")
    async def connect_zendesk(
        self, data: ZendeskRequest, integrations: wh.Context, current_member: Member
    ) -> ZendeskView:
        """Tickets for AI resolutions (solved, with the transcript) and escalations (open); the token is stored
        encrypted and shown by its last four."""
        cmd = zendesk_cmd.ConnectZendesk(
            current_member.workspace_id,
            current_member.account_id,
            data.subdomain,
            data.email,
            data.api_token,
            data.base_url,
            data.route_groups,
        )
        await anyio.to_thread.run_sync(zendesk_cmd.connect, integrations, cmd)
        return await self._connection(integrations, current_member, "zendesk")  # type: ignore[no-any-return]

    @delete("/zendesk", operation_id="disconnectZendesk", summary="Disconnect Zendesk")
    async def disconnect_zendesk(self, integrations: wh.Context, current_member: Member) -> None:
        """Forget Zendesk's token; nothing more is sent there."""
        await anyio.to_thread.run_sync(
            zendesk_cmd.disconnect, integrations, current_member.workspace_id, current_member.account_id
        )

    @put("/hubspot", operation_id="connectHubSpot", summary="Connect HubSpot")
    async def connect_hubspot(
        self, data: HubSpotRequest, integrations: wh.Context, current_member: Member
    ) -> HubSpotView:
        """On each closed chat with a known visitor email: the contact upserted and a note (summary, topic, CSAT,
        link) associated with it. The token is stored encrypted and shown by its last four."""
        await anyio.to_thread.run_sync(
            hubspot_cmd.connect, integrations, current_member.workspace_id, current_member.account_id, data.access_token
        )
        return await self._connection(integrations, current_member, "hubspot")  # type: ignore[no-any-return]

    @delete("/hubspot", operation_id="disconnectHubSpot", summary="Disconnect HubSpot")
    async def disconnect_hubspot(self, integrations: wh.Context, current_member: Member) -> None:
        """Forget HubSpot's token; nothing more is sent there."""
        await anyio.to_thread.run_sync(
            hubspot_cmd.disconnect, integrations, current_member.workspace_id, current_member.account_id
        )

    async def _connection(self, ctx: wh.Context, member: Member, system: str) -> Any:
        found = await anyio.to_thread.run_sync(wh.existing, ctx.app, member.workspace_id)
        return credential_view(found, system)

    async def _test(self, ctx: wh.Context, member: Member, system: str) -> Any:
        def run() -> Any:
            saved, checked = credential_test.check_now(ctx, member.workspace_id, system, member.account_id)
            view = credential_view(saved, system)
            if not checked.reachable:
                view.notice = f"{checked.detail}: nothing was recorded; try again later."
            return view

        return await anyio.to_thread.run_sync(run)

    @post("/slack/test", operation_id="testSlack", status_code=200, summary="Test Slack's credential now")
    async def test_slack(self, integrations: wh.Context, current_member: Member) -> SlackView:
        """Bot token: ``auth.test``; incoming webhook: a short test message in the channel. The outcome is recorded
        (connected, or disconnected with when and why); nothing is recorded when Slack cannot be reached."""
        return await self._test(integrations, current_member, "slack")  # type: ignore[no-any-return]

    @post("/zendesk/test", operation_id="testZendesk", status_code=200, summary="Test Zendesk's credential now")
    async def test_zendesk(self, integrations: wh.Context, current_member: Member) -> ZendeskView:
        """``GET /api/v2/users/me.json`` with the stored email and token (an anonymous answer counts as refused);
        the outcome is recorded; nothing is recorded when Zendesk cannot be reached."""
        return await self._test(integrations, current_member, "zendesk")  # type: ignore[no-any-return]

    @post("/hubspot/test", operation_id="testHubSpot", status_code=200, summary="Test HubSpot's token now")
    async def test_hubspot(self, integrations: wh.Context, current_member: Member) -> HubSpotView:
        """A page of one contact with the stored token; the outcome is recorded; nothing is recorded when HubSpot
        cannot be reached."""
        return await self._test(integrations, current_member, "hubspot")  # type: ignore[no-any-return]

    @put("/intercom", operation_id="connectIntercom", summary="Connect Intercom")
    async def connect_intercom(
        self, data: IntercomRequest, integrations: wh.Context, current_member: Member
    ) -> IntercomView:
        """Checks the token with ``GET /me`` first: 409 ``credential_rejected`` (nothing stored) when Intercom refuses
        it. Checked again daily by the scheduler."""
        connected = await anyio.to_thread.run_sync(
            intercom_cmd.connect,
            integrations,
            current_member.workspace_id,
            current_member.account_id,
            data.access_token,
        )
        return intercom_view(connected)

    @post("/intercom/check", operation_id="checkIntercom", status_code=200, summary="Check Intercom's token now")
    async def check_intercom(self, integrations: wh.Context, current_member: Member) -> IntercomView:
        """One ``GET /me`` with the stored token; the outcome is recorded (connected, or disconnected and why)."""
        workspace_id = current_member.workspace_id

        def run() -> IntercomView:
            outcome = intercom_cmd.recheck(
                integrations.app, integrations.cipher, integrations.intercom_api_url, workspace_id
            )
            found = wh.existing(integrations.app, workspace_id).intercom
            if found is None:
                raise NotFound("Intercom is not connected.", code="integration_not_connected")
            view = intercom_view(found)
            if outcome is None:
                view.notice = "Intercom could not be reached: nothing was recorded; try again later."
            return view

        return await anyio.to_thread.run_sync(run)

    @delete("/intercom", operation_id="disconnectIntercom", summary="Disconnect Intercom")
    async def disconnect_intercom(self, integrations: wh.Context, current_member: Member) -> None:
        """Forget Intercom's token."""
        await anyio.to_thread.run_sync(
            intercom_cmd.disconnect, integrations, current_member.workspace_id, current_member.account_id
        )

    @get("/deliveries", operation_id="listDeliveries", summary="The delivery log")
    async def list_deliveries(
        self,
        transcripts: TranscriptSource,
        current_member: Member,
        status: str | None = None,
        target: str | None = None,
        limit: int = Parameter(default=deliveries.DEFAULT_LIMIT),
        before: datetime | None = None,
    ) -> deliveries.DeliveryPage:
        """Newest first; ``status`` one of pending, delivering, delivered, failed, dead, or dead_letters."""
        return await anyio.to_thread.run_sync(
            deliveries.list_deliveries, transcripts, current_member.workspace_id, status, target, limit, before
        )

    @get("/deliveries/{delivery_id:str}", operation_id="getDelivery", summary="A delivery and its attempts")
    async def get_delivery(
        self, delivery_id: str, transcripts: TranscriptSource, current_member: Member
    ) -> deliveries.Delivery:
        """Every attempt: time, status code, latency, outcome and the start of the answer; the payload sent."""
        return await anyio.to_thread.run_sync(
            deliveries.get_delivery, transcripts, current_member.workspace_id, delivery_id
        )

    @post("/deliveries/{delivery_id:str}/redeliver", operation_id="redeliver", status_code=202)
    async def redeliver(
        self, delivery_id: str, integrations: wh.Context, transcripts: TranscriptSource, current_member: Member
    ) -> deliveries.Delivery:
        """Attempt a dead (or failed) delivery again, with the same webhook-id; 409 ``delivery_not_dead`` otherwise."""
        found = await anyio.to_thread.run_sync(
            deliveries.get_delivery, transcripts, current_member.workspace_id, delivery_id
        )
        if found.status not in deliveries.DEAD_LETTERS:
            raise Conflict(
                f"This delivery is {found.status}: only a dead or failed delivery can be redelivered.",
                code="delivery_not_dead",
            )
        await anyio.to_thread.run_sync(
            wh.redeliver, integrations, current_member.workspace_id, current_member.account_id, found.id
        )
        return found
