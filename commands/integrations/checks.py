"""Credential checks with the vendors: one cheap authenticated call that says whether a Slack, Zendesk, HubSpot or
Intercom credential works. Made on connect (a credential the vendor refuses is never stored) and on "Test"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from domain.errors import Conflict, InvalidInput

SLACK_CONNECTED_TEXT = (
    "ChatAssist is connected: escalation alerts and resolution summaries will be posted here. "
    "(A test message, sent when an admin connects or tests Slack.)"
)
# Answers that mean "this credential does not work" (as opposed to "the vendor could not be asked").
_SLACK_REJECTED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"}
_SLACK_WEBHOOK_REJECTED = {400, 403, 404, 410}  # invalid_token, no_service, no_team, channel_not_found, archived


class CredentialRejected(Conflict):
    """The vendor refused the credential on a test call: nothing was stored."""

    code = "credential_rejected"


@dataclass(frozen=True)
class Checked:
    """The outcome of a test call: ``ok`` False with ``reachable`` True when the vendor refused the credential;
    ``reachable`` False when the vendor could not be asked (no answer, 5xx, 429, garbage)."""

    ok: bool
    detail: str
    reachable: bool = True


def unreachable(vendor: str, why: str) -> Checked:
    """The vendor could not be asked."""
    return Checked(False, f"{vendor} could not be reached ({why})", reachable=False)


def require_ok(checked: Checked, advice: str) -> None:
    """Raise 409 ``credential_rejected`` (refused) or 422 ``integration_unreachable`` (not asked) unless ok."""
    if not checked.ok and checked.reachable:
        raise CredentialRejected(f"{checked.detail}. {advice}")
    if not checked.ok:
        raise InvalidInput(f"{checked.detail}; nothing was stored, try again.", code="integration_unreachable")


def check_slack(api_url: str, mode: str, credential: str, timeout_s: float = 10.0) -> Checked:
    """Bot token: ``auth.test``. Incoming webhook: post a short "ChatAssist is connected" message (what Slack's own
    apps do; an incoming webhook has no read-only call)."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError
    from slack_sdk.webhook import WebhookClient

    timeout = max(1, round(timeout_s))
    if mode == "webhook":
        try:
            posted = WebhookClient(credential, timeout=timeout, retry_handlers=[]).send(text=SLACK_CONNECTED_TEXT)
        except Exception as err:  # urllib's connection errors and timeouts
            return unreachable("Slack", type(err).__name__)
        if posted.status_code == 200:
            return Checked(True, "the incoming webhook posted a test message")
        if posted.status_code in _SLACK_WEBHOOK_REJECTED:
            answered = f"{posted.status_code} {str(posted.body)[:80]}"
            return Checked(False, f"Slack answered {answered}: the webhook URL was refused")
        return unreachable("Slack", f"it answered {posted.status_code}")
    client = WebClient(token=credential, base_url=api_url, timeout=timeout, retry_handlers=[])
    try:
        answer = client.auth_test()
    except SlackApiError as err:
        code = err.response.get("error") if isinstance(err.response.data, dict) else None
        if code in _SLACK_REJECTED:
            return Checked(False, f"Slack answered {code}: the bot token was rejected")
        return unreachable("Slack", f"{err.response.status_code} {code or 'without JSON'}")
    except Exception as err:
        return unreachable("Slack", type(err).__name__)
    bot, team = answer.get("user") or answer.get("user_id"), answer.get("team") or "the workspace"
    return Checked(True, f"bot {bot} of {team}")


def check_zendesk(base_url: str, email: str | None, token: str, timeout_s: float = 10.0) -> Checked:
    """``GET /api/v2/users/me.json`` with ``{email}/token`` basic auth (``email`` None: an OAuth bearer token).
    Zendesk answers 200 with an anonymous user (no id, role end-user) for credentials it does not know: only an
    agent or admin counts as accepted."""
    bearer = {"Authorization": f"Bearer {token}"} if email is None else {}
    try:
        response = httpx.get(
            base_url.rstrip("/") + "/api/v2/users/me.json",
            auth=(f"{email}/token", token) if email is not None else None,
            headers={"Accept": "application/json", **bearer},
            timeout=timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as err:
        return unreachable("Zendesk", type(err).__name__)
    if response.status_code in (401, 403):
        return Checked(False, f"Zendesk answered {response.status_code}: the email or API token was rejected")
    if response.status_code == 404:
        return Checked(False, "Zendesk answered 404: there is no Zendesk account at this subdomain")
    if response.status_code != 200:
        return unreachable("Zendesk", f"it answered {response.status_code}")
    try:
        user: dict[str, Any] = response.json()["user"]
    except (ValueError, KeyError, TypeError):
        return unreachable("Zendesk", "it answered 200 without a user")
    if user.get("id") is None:
        return Checked(False, "Zendesk answered as an anonymous user: the email or API token was rejected")
    if user.get("role") not in ("agent", "admin"):
        return Checked(False, f"Zendesk user {user.get('email') or email} is an {user.get('role')}, not an agent")
    return Checked(True, f"agent {user.get('email') or email} ({user.get('role')})")


def check_hubspot(host: str | None, token: str, timeout_s: float = 10.0) -> Checked:
    """One page of one contact (``GET /crm/v3/objects/contacts?limit=1``) through ``hubspot-api-client``: proves
    the token and its contacts scope."""
    from hubspot import HubSpot
    from hubspot.crm.contacts.exceptions import ApiException

    options: dict[str, Any] = {"access_token": token}
    if host:
        options["host"] = host.rstrip("/")
    try:
        HubSpot(**options).crm.contacts.basic_api.get_page(limit=1, archived=False, _request_timeout=timeout_s)
    except ApiException as err:
        if err.status in (401, 403):
            return Checked(False, f"HubSpot answered {err.status}: {_hubspot_message(err.body)}")
        return unreachable("HubSpot", f"it answered {err.status}")
    except Exception as err:  # urllib3's connection errors, timeouts, an answer that is not JSON
        return unreachable("HubSpot", type(err).__name__)
    return Checked(True, "the access token reads contacts")


def _hubspot_message(body: Any) -> str:
    import json

    try:
        return str(json.loads(body)["message"])[:160]
    except (TypeError, ValueError, KeyError):
        return "the access token was rejected"
