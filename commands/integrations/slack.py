"""Slack: connect with an incoming webhook URL, or a bot token and a channel; disconnect."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from commands._lazy import save_with_retries
from commands.integrations.checks import check_slack, require_ok
from commands.integrations.credential_test import slack_api_base
from commands.integrations.secrets import check_url, require_cipher, seal
from commands.integrations.slack_channels import revoke
from commands.integrations.webhooks import Context, existing, load_or_new
from domain.errors import InvalidInput
from domain.integrations import Integrations, SlackConnection


@dataclass(frozen=True)
class ConnectSlack:
    """``mode`` webhook: ``credential`` is the incoming webhook URL; bot: a ``xoxb-`` token, with ``channel``."""

    workspace_id: UUID
    by: UUID
    mode: str
    credential: str
    channel: str | None = None

    def __repr__(self) -> str:
        return f"ConnectSlack(workspace_id={self.workspace_id}, mode={self.mode!r}, credential=<hidden>)"


def check(cmd: ConnectSlack, allow_private: bool) -> tuple[str, str | None]:
    """The credential and channel, validated; InvalidInput with a code otherwise."""
    credential = cmd.credential.strip() if isinstance(cmd.credential, str) else ""
    if cmd.mode == "webhook":
        return check_url(credential, allow_private=allow_private, what="Slack webhook URL"), None
    if cmd.mode == "bot":
        if not credential.startswith("xoxb-") or len(credential) > 256 or any(c.isspace() for c in credential):
            raise InvalidInput("A Slack bot token starts with 'xoxb-' and has no spaces.", code="invalid_slack_token")
        channel = (cmd.channel or "").strip()
        if not channel or len(channel) > 80:
            raise InvalidInput("Name the Slack channel to post in (e.g. #support or C0123456).", code="invalid_channel")
        return credential, channel
    raise InvalidInput("Slack mode must be webhook or bot.", code="invalid_slack_mode")


def connect(ctx: Context, cmd: ConnectSlack) -> SlackConnection:
    """Validate, test with Slack (``auth.test``, or a test message through the incoming webhook), encrypt and save
    the connection (replacing an earlier one); 409 ``credential_rejected`` / 422 ``integration_unreachable``."""
    credential, channel = check(cmd, ctx.allow_private)
    cipher = require_cipher(ctx.cipher)
    checked = check_slack(slack_api_base(ctx.slack_api_url), cmd.mode, credential, ctx.timeout_s)
    require_ok(checked, "Check the token or webhook URL in your Slack app's settings and try again.")
    secret = seal(cipher, cmd.workspace_id, "slack", credential)
    saved: list[Integrations] = []

    def attempt() -> list[Integrations]:
        integrations = load_or_new(ctx.app, cmd.workspace_id)
        integrations.connect_slack(cmd.mode, secret, channel, cmd.by)
        integrations.record_credential_check("slack", True, checked.detail, cmd.by)
        saved[:] = [integrations]
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    assert saved[0].slack is not None
    return saved[0].slack


def disconnect(ctx: Context, workspace_id: UUID, by: UUID) -> None:
    """Revoke a bot token at Slack (``auth.revoke``; recorded, whatever Slack answers), then forget the
    connection."""
    found = existing(ctx.app, workspace_id)
    outcome = revoke(ctx, found) if found.slack is not None and found.slack.mode == "bot" else None

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        if outcome is not None:
            integrations.record_grant_revoked("slack", outcome[0], outcome[1], by)
        integrations.disconnect_slack(by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
