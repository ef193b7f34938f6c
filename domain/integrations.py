"""Integrations: a workspace's outbound webhook endpoints and its Slack connection, and the delivery policy.

Secrets (a ``whsec_`` signing secret, a Slack webhook URL or bot token) never reach an event in clear: events carry
the id of the encryption key, the AES-GCM ciphertext and the last four characters. One aggregate per workspace, its
id derived from the workspace id, created on the first change. Sending happens elsewhere (workers/deliver.py), from
delivery rows written by a follower of the event store (projections/integrations/); every change here is an event,
so the audit log shows who connected, tested, changed, rotated and disconnected what.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.clock import event_time
from domain.errors import Conflict, InvalidInput, NotFound

_NS = uuid5(NAMESPACE_URL, "https://chatassist.dev/integrations")
EVENT_TYPES = (
    "message.created",
    "escalation.triggered",
    "conversation.closed",
    "conversation.resolved",
    "csat.rated",
    "handoff.claimed",
    "budget.threshold",
)
TEST_EVENT_TYPE = "webhook.test"  # what "send test event" delivers (to the one endpoint, whatever it subscribes to)
SLACK_EVENT_TYPES = ("escalation.triggered", "conversation.resolved")
HUBSPOT_EVENT_TYPES = ("conversation.closed",)
ZENDESK_EVENT_TYPES = ("escalation.triggered", "conversation.resolved", "conversation.closed")
MAX_ENDPOINTS = 20
BUDGET_THRESHOLDS = (80, 95, 100)  # percent of the monthly token budget, each announced once per month
MAX_URL_CHARS, MAX_DESCRIPTION_CHARS = 2000, 500
ROTATION_OVERLAP = timedelta(hours=24)
# Standard Webhooks' schedule: the delay before attempt n+1, after attempt n failed (attempt 1 is immediate).
RETRY_SCHEDULE_S: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1  # each delay drawn within ±10 %, so endpoints that failed together do not retry together
MAX_RETRY_AFTER_S = 86_400.0


def integrations_id(workspace_id: UUID) -> UUID:
    """The id of a workspace's Integrations aggregate."""
    return uuid5(_NS, str(workspace_id))


def check_event_types(types: object) -> list[str]:
    """The subscribed event types, deduplicated in the documented order; InvalidInput ``unknown_event_type``."""
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise InvalidInput(
            f"event_types must be a non-empty list of: {', '.join(EVENT_TYPES)}.", code="invalid_event_types"
        )
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput(
            f"Unknown event type {unknown[0][:60]!r}: use any of {', '.join(EVENT_TYPES)}.", code="unknown_event_type"
        )
    return [t for t in EVENT_TYPES if t in types]


def check_description(text: object) -> str:
    """A description of at most 500 characters (empty allowed)."""
    if text is None:
        return ""
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(f"description must be text of at most {MAX_DESCRIPTION_CHARS} characters.")
    return text.strip()


@dataclass
class Secret:
    """An encrypted secret: key id, ciphertext (base64) and the last four characters for display."""

    key_id: str
    ciphertext: str
    last4: str


@dataclass
class Endpoint:
    """A customer's webhook endpoint."""

    endpoint_id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    secret: Secret
    previous_secret: Secret | None = None
    previous_valid_until: datetime | None = None
    disabled_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The endpoint as the API shows it: the secret masked."""
        return {
            "id": self.endpoint_id,
            "url": self.url,
            "event_types": list(self.event_types),
            "description": self.description,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "secret": "whsec_…" + self.secret.last4,
            "previous_secret_valid_until": self.previous_valid_until.isoformat() if self.previous_valid_until else None,
        }


@dataclass
class SlackConnection:
    """Slack: an incoming webhook URL, or a bot token and a channel."""

    mode: str  # "webhook" or "bot"
    secret: Secret
    channel: str | None
    event_types: list[str] = field(default_factory=lambda: list(SLACK_EVENT_TYPES))


@dataclass
class OAuthGrant:
    """An OAuth install's refresh side (HubSpot): the sealed refresh token, when the access token expires, the
    provider's account (portal) and the scopes granted."""

    refresh: Secret
    expires_at: datetime
    account: str
    scopes: list[str]


@dataclass
class ZendeskConnection:
    """Zendesk: the account's subdomain (or a base URL), the agent's email and an API token."""

    subdomain: str
    email: str
    secret: Secret
    base_url: str | None = None
    route_groups: dict[str, int] = field(default_factory=dict)
    oauth: bool = False  # connected by OAuth: ``secret`` is a bearer access token, ``email`` empty

    def to_dict(self) -> dict[str, Any]:
        """As the API shows it: the token masked."""
        return {
            "subdomain": self.subdomain,
            "email": self.email,
            "base_url": self.base_url,
            "route_groups": dict(self.route_groups),
            "api_token": "…" + self.secret.last4,
        }


@dataclass
class IntercomConnection:
    """Intercom: an access token and whether it still works (checked on connect and daily)."""

    secret: Secret
    ok: bool = True
    checked_at: datetime | None = None
    detail: str = ""

    def status(self) -> str:
        """One sentence: connected, or disconnected with when and why."""
        if self.ok:
            return "Connected."
        when = self.checked_at.date().isoformat() if self.checked_at else "the last check"
        return f"Disconnected: the access token was rejected on {when} ({self.detail}); re-authenticate."


@dataclass
class CredentialCheck:
    """The last check of a Slack, Zendesk or HubSpot credential with the vendor (on connect, or "Test")."""

    ok: bool
    checked_at: datetime
    detail: str

    def status(self, name: str) -> str:
        """One sentence: connected, or disconnected with when and why."""
        if self.ok:
            return f"Connected: {self.detail} (tested {self.checked_at.date().isoformat()})."
        when = self.checked_at.date().isoformat()
        return f"Disconnected: {name} rejected the credential on {when} ({self.detail}); reconnect."


SYSTEM_NAMES = {"slack": "Slack", "zendesk": "Zendesk", "hubspot": "HubSpot"}
CHECKED_SYSTEMS = tuple(SYSTEM_NAMES)


class Integrations(Aggregate):
    """The workspace's integrations; every change names its actor."""

    @staticmethod
    def create_id(workspace_id: UUID) -> UUID:
        """Derived from the workspace id, so reading is one get by id."""
        return integrations_id(workspace_id)

    @event("Created")
    def __init__(self, workspace_id: UUID) -> None:
        self.workspace_id = workspace_id
        self.endpoints: dict[str, Endpoint] = {}
        self.slack: SlackConnection | None = None
        self.zendesk: ZendeskConnection | None = None
        self.hubspot: Secret | None = None  # a private app's access token
        self.hubspot_grant: OAuthGrant | None = None  # when HubSpot was connected by OAuth: its refresh side
        self.intercom: IntercomConnection | None = None
        self.budget_thresholds: set[str] = set()  # "YYYY-MM:percent" already announced
        self.checks: dict[str, CredentialCheck] = {}  # slack, zendesk, hubspot: the last test with the vendor

    # --- webhook endpoints --------------------------------------------------------------------------------------

    def endpoint(self, endpoint_id: str) -> Endpoint:
        """The endpoint, or NotFound ``endpoint_not_found``."""
        found = self.endpoints.get(endpoint_id)
        if found is None:
            raise NotFound("There is no webhook endpoint with this id in your workspace.", code="endpoint_not_found")
        return found

    def add_endpoint(
        self, endpoint_id: str, url: str, event_types: list[str], description: str, secret: Secret, by: UUID
    ) -> None:
        """Add an endpoint (URL already checked by the caller) with its new signing secret."""
        if len(self.endpoints) >= MAX_ENDPOINTS:
            raise Conflict(f"A workspace has at most {MAX_ENDPOINTS} webhook endpoints.", code="too_many_endpoints")
        self._endpoint_added(
            endpoint_id=endpoint_id,
            url=url,
            event_types=check_event_types(event_types),
            description=check_description(description),
            key_id=secret.key_id,
            ciphertext=secret.ciphertext,
            last4=secret.last4,
            by=by,
        )

    @event("EndpointAdded")
    def _endpoint_added(
        self,
        endpoint_id: str,
        url: str,
        event_types: list[str],
        description: str,
        key_id: str,
        ciphertext: str,
        last4: str,
        by: UUID,
    ) -> None:
        secret = Secret(key_id, ciphertext, last4)
        self.endpoints[endpoint_id] = Endpoint(endpoint_id, url, list(event_types), description, True, secret)

    def change_endpoint(self, endpoint_id: str, changes: dict[str, Any], by: UUID) -> None:
        """Change url, event_types, description or enabled (validated values); records nothing when unchanged."""
        current = self.endpoint(endpoint_id)
        if "event_types" in changes:
            changes["event_types"] = check_event_types(changes["event_types"])
        if "description" in changes:
            changes["description"] = check_description(changes["description"])
        if "enabled" in changes and not isinstance(changes["enabled"], bool):
            raise InvalidInput("enabled must be true or false.")
        unknown = set(changes) - {"url", "event_types", "description", "enabled"}
        if unknown:
            raise InvalidInput(
                f"Unknown field {sorted(unknown)[0][:40]!r}: change url, event_types, description or enabled.",
                code="unknown_field",
            )
        real = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if real:
            self._endpoint_changed(endpoint_id=endpoint_id, changes=real, by=by)

    @event("EndpointChanged")
    def _endpoint_changed(self, endpoint_id: str, changes: dict[str, Any], by: UUID) -> None:
        endpoint = self.endpoints[endpoint_id]
        for key, value in changes.items():
            setattr(endpoint, key, value)
        if changes.get("enabled") is True:
            endpoint.disabled_reason = None

    def disable_endpoint(self, endpoint_id: str, reason: str) -> None:
        """Disable an endpoint on the delivery side's decision (410 Gone, failing for days); no actor."""
        if self.endpoint(endpoint_id).enabled:
            self._endpoint_disabled(endpoint_id=endpoint_id, reason=reason[:300])

    @event("EndpointDisabled")
    def _endpoint_disabled(self, endpoint_id: str, reason: str) -> None:
        endpoint = self.endpoints[endpoint_id]
        endpoint.enabled, endpoint.disabled_reason = False, reason

    def remove_endpoint(self, endpoint_id: str, by: UUID) -> None:
        """Delete an endpoint; deliveries already made stay in the delivery log."""
        self.endpoint(endpoint_id)
        self._endpoint_removed(endpoint_id=endpoint_id, by=by)

    @event("EndpointRemoved")
    def _endpoint_removed(self, endpoint_id: str, by: UUID) -> None:
        del self.endpoints[endpoint_id]

    def rotate_secret(self, endpoint_id: str, secret: Secret, by: UUID) -> None:
        """A new signing secret; the old one stays valid (signatures with both) for ``ROTATION_OVERLAP``."""
        self.endpoint(endpoint_id)
        self._secret_rotated(
            endpoint_id=endpoint_id,
            key_id=secret.key_id,
            ciphertext=secret.ciphertext,
            last4=secret.last4,
            previous_valid_until=event_time() + ROTATION_OVERLAP,
            by=by,
        )

    @event("SecretRotated")
    def _secret_rotated(
        self, endpoint_id: str, key_id: str, ciphertext: str, last4: str, previous_valid_until: datetime, by: UUID
    ) -> None:
        endpoint = self.endpoints[endpoint_id]
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_valid_until = previous_valid_until
        endpoint.secret = Secret(key_id, ciphertext, last4)

    def request_test(self, endpoint_id: str, test_id: str, by: UUID) -> None:
        """Ask for a ``webhook.test`` delivery to the endpoint (made by the workers, like any other)."""
        self.endpoint(endpoint_id)
        self._test_requested(endpoint_id=endpoint_id, test_id=test_id, by=by)

    @event("TestRequested")
    def _test_requested(self, endpoint_id: str, test_id: str, by: UUID) -> None:
        pass

    # --- Slack --------------------------------------------------------------------------------------------------

    def connect_slack(self, mode: str, secret: Secret, channel: str | None, by: UUID) -> None:
        """Connect (or reconnect) Slack: ``webhook`` (the URL is the secret) or ``bot`` (a token and a channel)."""
        if mode not in ("webhook", "bot"):
            raise InvalidInput("Slack mode must be webhook or bot.", code="invalid_slack_mode")
        self._slack_connected(
            mode=mode, key_id=secret.key_id, ciphertext=secret.ciphertext, last4=secret.last4, channel=channel, by=by
        )

    @event("SlackConnected")
    def _slack_connected(
        self, mode: str, key_id: str, ciphertext: str, last4: str, channel: str | None, by: UUID
    ) -> None:
        self.slack = SlackConnection(mode, Secret(key_id, ciphertext, last4), channel)
        self.checks.pop("slack", None)

    def disconnect_slack(self, by: UUID) -> None:
        """Forget the Slack connection; NotFound ``integration_not_connected`` when there is none."""
        if self.slack is None:
            raise NotFound("Slack is not connected.", code="integration_not_connected")
        self._slack_disconnected(by=by)

    @event("SlackDisconnected")
    def _slack_disconnected(self, by: UUID) -> None:
        self.slack = None
        self.checks.pop("slack", None)

    def choose_slack_channel(self, channel: str, by: UUID) -> None:
        """The channel alerts go to, picked from the bot's channels after an "Add to Slack" install (bot mode)."""
        if self.slack is None:
            raise NotFound("Slack is not connected.", code="integration_not_connected")
        if self.slack.mode != "bot":
            raise InvalidInput(
                "An incoming webhook posts to the channel it was made for: connect Slack with Add to Slack or a bot"
                " token to pick a channel.",
                code="slack_channel_fixed",
            )
        self._slack_channel_chosen(channel=channel, by=by)

    @event("SlackChannelChosen")
    def _slack_channel_chosen(self, channel: str, by: UUID) -> None:
        assert self.slack is not None
        self.slack.channel = channel

    def record_grant_revoked(self, system: str, revoked: bool, detail: str, by: UUID) -> None:
        """Record the revocation of an OAuth grant (or bot token) at the provider on Disconnect: ``revoked`` False
        when the provider refused or could not be reached (``detail`` says which)."""
        self._grant_revoked(system=system, revoked=revoked, detail=detail[:300], by=by)

    @event("GrantRevoked")
    def _grant_revoked(self, system: str, revoked: bool, detail: str, by: UUID) -> None:
        pass

    # --- Zendesk ------------------------------------------------------------------------------------------------

    def connect_zendesk(
        self, subdomain: str, email: str, secret: Secret, base_url: str | None, route_groups: dict[str, int], by: UUID
    ) -> None:
        """Connect (or reconnect) Zendesk (values already checked by the caller)."""
        self._zendesk_connected(
            subdomain=subdomain,
            email=email,
            key_id=secret.key_id,
            ciphertext=secret.ciphertext,
            last4=secret.last4,
            base_url=base_url,
            route_groups=dict(route_groups),
            by=by,
        )

    @event("ZendeskConnected")
    def _zendesk_connected(
        self,
        subdomain: str,
        email: str,
        key_id: str,
        ciphertext: str,
        last4: str,
        base_url: str | None,
        route_groups: dict[str, int],
        by: UUID,
    ) -> None:
        secret = Secret(key_id, ciphertext, last4)
        self.zendesk = ZendeskConnection(subdomain, email, secret, base_url, dict(route_groups))
        self.checks.pop("zendesk", None)

    def install_zendesk(self, subdomain: str, secret: Secret, base_url: str | None, by: UUID) -> None:
        """Connect Zendesk by OAuth (authorization code with PKCE): tickets made with the bearer access token."""
        self._zendesk_installed(
            subdomain=subdomain, key_id=secret.key_id, ciphertext=secret.ciphertext, last4=secret.last4,
            base_url=base_url, by=by,
        )  # fmt: skip

    @event("ZendeskInstalled")
    def _zendesk_installed(
        self, subdomain: str, key_id: str, ciphertext: str, last4: str, base_url: str | None, by: UUID
    ) -> None:
        self.zendesk = ZendeskConnection(subdomain, "", Secret(key_id, ciphertext, last4), base_url, {}, oauth=True)
        self.checks.pop("zendesk", None)

    def disconnect_zendesk(self, by: UUID) -> None:
        """Forget the Zendesk connection; NotFound ``integration_not_connected`` when there is none."""
        if self.zendesk is None:
            raise NotFound("Zendesk is not connected.", code="integration_not_connected")
        self._zendesk_disconnected(by=by)

    @event("ZendeskDisconnected")
    def _zendesk_disconnected(self, by: UUID) -> None:
        self.zendesk = None
        self.checks.pop("zendesk", None)

    # --- HubSpot ------------------------------------------------------------------------------------------------

    def connect_hubspot(self, secret: Secret, by: UUID) -> None:
        """Connect (or reconnect) HubSpot: contacts and a note per closed chat ("summaries to CRM on chat close")."""
        self._hubspot_connected(key_id=secret.key_id, ciphertext=secret.ciphertext, last4=secret.last4, by=by)

    @event("HubSpotConnected")
    def _hubspot_connected(self, key_id: str, ciphertext: str, last4: str, by: UUID) -> None:
        self.hubspot = Secret(key_id, ciphertext, last4)
        self.hubspot_grant = None
        self.checks.pop("hubspot", None)

    def install_hubspot(
        self, access: Secret, refresh: Secret, expires_at: datetime, portal_id: str, scopes: list[str], by: UUID
    ) -> None:
        """Connect HubSpot by OAuth (authorization code exchanged): the access token used like a private app's, the
        refresh token kept to renew it before ``expires_at``."""
        self._hubspot_installed(
            key_id=access.key_id, ciphertext=access.ciphertext, last4=access.last4,
            refresh_key_id=refresh.key_id, refresh_ciphertext=refresh.ciphertext, refresh_last4=refresh.last4,
            expires_at=expires_at, portal_id=portal_id, scopes=list(scopes), by=by,
        )  # fmt: skip

    @event("HubSpotInstalled")
    def _hubspot_installed(
        self, key_id: str, ciphertext: str, last4: str, refresh_key_id: str, refresh_ciphertext: str,
        refresh_last4: str, expires_at: datetime, portal_id: str, scopes: list[str], by: UUID,
    ) -> None:  # fmt: skip
        self.hubspot = Secret(key_id, ciphertext, last4)
        refresh = Secret(refresh_key_id, refresh_ciphertext, refresh_last4)
        self.hubspot_grant = OAuthGrant(refresh, expires_at, portal_id, list(scopes))
        self.checks.pop("hubspot", None)

    def record_token_refreshed(self, system: str, access: Secret, expires_at: datetime) -> None:
        """A new access token from the refresh token (by the process that needed it: no actor)."""
        if system != "hubspot" or self.hubspot_grant is None:
            raise NotFound("HubSpot is not connected by OAuth.", code="integration_not_connected")
        self._token_refreshed(
            system=system, key_id=access.key_id, ciphertext=access.ciphertext, last4=access.last4, expires_at=expires_at
        )

    @event("TokenRefreshed")
    def _token_refreshed(self, system: str, key_id: str, ciphertext: str, last4: str, expires_at: datetime) -> None:
        assert self.hubspot_grant is not None
        self.hubspot = Secret(key_id, ciphertext, last4)
        self.hubspot_grant.expires_at = expires_at

    def disconnect_hubspot(self, by: UUID) -> None:
        """Forget HubSpot; NotFound ``integration_not_connected`` when it is not connected."""
        if self.hubspot is None:
            raise NotFound("HubSpot is not connected.", code="integration_not_connected")
        self._hubspot_disconnected(by=by)

    @event("HubSpotDisconnected")
    def _hubspot_disconnected(self, by: UUID) -> None:
        self.hubspot = None
        self.hubspot_grant = None
        self.checks.pop("hubspot", None)

    # --- credential tests (Slack, Zendesk, HubSpot) -------------------------------------------------------------

    def record_credential_check(self, system: str, ok: bool, detail: str, by: UUID | None) -> None:
        """Record a test of the system's stored credential with the vendor (``by`` None: on connect)."""
        if system not in CHECKED_SYSTEMS:
            raise InvalidInput(f"Only {', '.join(CHECKED_SYSTEMS)} credentials are tested this way.")
        if getattr(self, system) is None:
            raise NotFound(f"{SYSTEM_NAMES[system]} is not connected.", code="integration_not_connected")
        self._credential_checked(system=system, ok=ok, detail=detail[:300], checked_at=event_time(), by=by)

    @event("CredentialChecked")
    def _credential_checked(self, system: str, ok: bool, detail: str, checked_at: datetime, by: UUID | None) -> None:
        self.checks[system] = CredentialCheck(ok, checked_at, detail)

    # --- Intercom -----------------------------------------------------------------------------------------------

    def connect_intercom(self, secret: Secret, detail: str, by: UUID) -> None:
        """Connect Intercom with a token that ``GET /me`` accepted (``detail``: who it is)."""
        self._intercom_connected(key_id=secret.key_id, ciphertext=secret.ciphertext, last4=secret.last4, by=by)
        self.record_intercom_check(True, detail)

    @event("IntercomConnected")
    def _intercom_connected(self, key_id: str, ciphertext: str, last4: str, by: UUID) -> None:
        self.intercom = IntercomConnection(Secret(key_id, ciphertext, last4))

    def record_intercom_check(self, ok: bool, detail: str) -> None:
        """Record the outcome of a token check (on connect, daily, or asked for)."""
        if self.intercom is None:
            raise NotFound("Intercom is not connected.", code="integration_not_connected")
        self._intercom_checked(ok=ok, detail=detail[:300], checked_at=event_time())

    @event("IntercomTokenChecked")
    def _intercom_checked(self, ok: bool, detail: str, checked_at: datetime) -> None:
        assert self.intercom is not None
        self.intercom.ok, self.intercom.detail, self.intercom.checked_at = ok, detail, checked_at

    def disconnect_intercom(self, by: UUID) -> None:
        """Forget Intercom; NotFound ``integration_not_connected`` when it is not connected."""
        if self.intercom is None:
            raise NotFound("Intercom is not connected.", code="integration_not_connected")
        self._intercom_disconnected(by=by)

    @event("IntercomDisconnected")
    def _intercom_disconnected(self, by: UUID) -> None:
        self.intercom = None

    # --- the monthly token budget -------------------------------------------------------------------------------

    def record_budget_threshold(self, month: str, percent: int, tokens_used: int, budget: int) -> bool:
        """Announce that ``percent`` (80, 95 or 100) of the month's token budget is used, once per month each;
        False when it was announced already."""
        if percent not in BUDGET_THRESHOLDS:
            raise InvalidInput(f"percent must be one of {BUDGET_THRESHOLDS}.")
        if f"{month}:{percent}" in self.budget_thresholds:
            return False
        self._budget_threshold_reached(month=month, percent=percent, tokens_used=tokens_used, budget=budget)
        return True

    @event("BudgetThresholdReached")
    def _budget_threshold_reached(self, month: str, percent: int, tokens_used: int, budget: int) -> None:
        self.budget_thresholds.add(f"{month}:{percent}")

    # --- deliveries ---------------------------------------------------------------------------------------------

    def request_redelivery(self, delivery_id: str, by: UUID) -> None:
        """Ask for a dead delivery to be attempted again (the caller checked that it is dead)."""
        self._redelivery_requested(delivery_id=delivery_id, by=by)

    @event("RedeliveryRequested")
    def _redelivery_requested(self, delivery_id: str, by: UUID) -> None:
        pass


# --- the delivery policy (pure) ---------------------------------------------------------------------------------

DELIVERED, RETRY, FAILED = "delivered", "retry", "failed"


def outcome_of(status_code: int | None) -> str:
    """What an answer means: 2xx delivered; 408, 409, 429, 5xx, no answer (None): retry; other 4xx (and 3xx):
    failed for good."""
    if status_code is None:
        return RETRY
    if 200 <= status_code < 300:
        return DELIVERED
    if status_code in (408, 409, 429) or status_code >= 500:
        return RETRY
    return FAILED


def retry_delay(
    attempt: int,
    retry_after_s: float | None = None,
    schedule: tuple[float, ...] = RETRY_SCHEDULE_S,
    rand: random.Random | None = None,
) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); None when it was the last (dead).

    The schedule's delay with ±10 % jitter, and never less than the vendor's ``Retry-After`` (capped at a day)."""
    if attempt > len(schedule):
        return None
    base = schedule[attempt - 1]
    delay = base * (1 + JITTER * (2 * (rand or random).random() - 1))
    if retry_after_s is not None and retry_after_s > 0:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None or when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
