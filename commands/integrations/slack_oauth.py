"""Slack's OAuth v2 install ("Add to Slack"): the authorize URL (slack-sdk's ``AuthorizeUrlGenerator``) with a
``state`` bound to the Admin and workspace, and the callback's code exchange (``oauth.v2.access`` through
slack-sdk), whose bot token is stored encrypted as the workspace's Slack connection, posting to the channel the
Admin picked on Slack's consent page (the ``incoming-webhook`` scope's channel)."""

from __future__ import annotations

from uuid import UUID

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator

from commands._lazy import save_with_retries
from commands.integrations.credential_test import slack_api_base
from commands.integrations.oauth_apps import SLACK_AUTHORIZE_URL, SlackApp
from commands.integrations.oauth_state import PostgresOAuthStateStore
from commands.integrations.secrets import require_cipher, seal
from commands.integrations.webhooks import Context, load_or_new
from domain.errors import Conflict
from domain.integrations import Integrations

SCOPES = ("chat:write", "channels:read", "incoming-webhook")
AUTHORIZE_URL = SLACK_AUTHORIZE_URL
CALLBACK_PATH = "/api/integrations/slack/oauth/callback"  # under CHATASSIST_PUBLIC_URL


class OAuthRefused(Conflict):
    """The provider refused the install (access denied, a code it would not exchange, narrower scopes)."""

    code = "oauth_refused"


def start(app: SlackApp, states: PostgresOAuthStateStore, workspace_id: UUID, account_id: UUID) -> str:
    """The URL of Slack's consent page for this Admin's install (a new single-use state)."""
    state = states.issue(workspace_id=workspace_id, account_id=account_id)
    generator = AuthorizeUrlGenerator(
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=list(SCOPES),
        authorization_url=app.authorize_url,
    )
    return generator.generate(state)


def complete(
    ctx: Context,
    app: SlackApp,
    states: PostgresOAuthStateStore,
    workspace_id: UUID,
    account_id: UUID,
    state: str | None,
    code: str | None,
    error: str | None = None,
) -> str:
    """Check the state (bound, single use, fresh), exchange the code and store the installation; returns the
    channel alerts go to. OAuthStateRefused / OAuthRefused (nothing stored) otherwise."""
    states.claim(state, workspace_id, account_id)
    if error:
        raise OAuthRefused(
            "Slack was not connected: the install was cancelled on Slack's page"
            f" ({error[:60]}). Click Add to Slack again and choose Allow."
        )
    if not code:
        raise OAuthRefused("Slack sent no authorization code back: click Add to Slack again.")
    client = WebClient(base_url=slack_api_base(ctx.slack_api_url), timeout=max(1, round(ctx.timeout_s)))
    try:
        answer = client.oauth_v2_access(
            client_id=app.client_id, client_secret=app.client_secret, code=code, redirect_uri=app.redirect_uri
        )
    except SlackApiError as err:
        reason = err.response.get("error") if isinstance(err.response.data, dict) else err.response.status_code
        raise OAuthRefused(f"Slack refused the code exchange ({reason}): click Add to Slack again.") from None
    granted = set(str(answer.get("scope") or "").split(","))
    missing = [s for s in SCOPES if s not in granted]
    if missing:
        raise OAuthRefused(f"Slack granted fewer permissions than needed (missing {', '.join(missing)}): add again.")
    token = str(answer.get("access_token") or "")
    hook = answer.get("incoming_webhook") or {}
    channel = str(hook.get("channel_id") or hook.get("channel") or "")
    if not token.startswith("xoxb-") or not channel:
        raise OAuthRefused("Slack's answer held no bot token or channel: click Add to Slack again.")
    secret = seal(require_cipher(ctx.cipher), workspace_id, "slack", token)
    team = (answer.get("team") or {}).get("name") or "the Slack workspace"

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, workspace_id)
        integrations.connect_slack("bot", secret, channel, account_id)
        integrations.record_credential_check("slack", True, f"installed in {team} by OAuth", account_id)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return channel
