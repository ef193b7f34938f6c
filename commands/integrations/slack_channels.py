"""After "Add to Slack": the channels the bot can post to (``conversations.list`` through slack-sdk), the Admin's
pick saved as the alert channel (``SlackChannelChosen``), and revoking the bot token at Slack on Disconnect
(``auth.revoke``, recorded as ``GrantRevoked``)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands._lazy import save_with_retries
from commands.integrations.credential_test import slack_api_base
from commands.integrations.secrets import require_cipher, unseal
from commands.integrations.webhooks import Context, existing
from domain.errors import Conflict, InvalidInput, NotFound
from domain.integrations import Integrations

PAGE = 200  # channels per conversations.list page
MAX_PAGES = 10  # a picker of at most 2,000 channels


@dataclass(frozen=True)
class Channel:
    """A channel the bot may post to."""

    id: str
    name: str
    private: bool = False


class SlackUnavailable(Conflict):
    """Slack refused or could not answer the channel list: nothing changed."""

    code = "slack_unavailable"


def _bot(ctx: Context, integrations: Integrations) -> tuple[WebClient, str]:
    s = integrations.slack
    if s is None:
        raise NotFound("Slack is not connected.", code="integration_not_connected")
    if s.mode != "bot":
        raise InvalidInput(
            "An incoming webhook posts to the channel it was made for: use Add to Slack to pick a channel.",
            code="slack_channel_fixed",
        )
    token = unseal(require_cipher(ctx.cipher), integrations.workspace_id, "slack", s.secret.key_id, s.secret.ciphertext)
    client = WebClient(
        token=token, base_url=slack_api_base(ctx.slack_api_url), timeout=max(1, round(ctx.timeout_s)), retry_handlers=[]
    )
    return client, token


def channels(ctx: Context, workspace_id: UUID) -> list[Channel]:
    """Channels the bot is a member of (public and private), by name; SlackUnavailable when Slack says no."""
    client, _ = _bot(ctx, existing(ctx.app, workspace_id))
    found: list[Channel] = []
    cursor: str | None = None
    try:
        for _page in range(MAX_PAGES):
            answer = client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=PAGE, cursor=cursor
            )
            for c in answer.get("channels") or []:
                if c.get("is_member"):
                    found.append(Channel(str(c["id"]), str(c.get("name") or c["id"]), bool(c.get("is_private"))))
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except SlackApiError as err:
        reason = err.response.get("error") if isinstance(err.response.data, dict) else err.response.status_code
        raise SlackUnavailable(
            f"Slack would not list the bot's channels ({reason}): press Test on the Slack card, or Add to Slack again."
        ) from None
    except OSError as err:
        raise SlackUnavailable(f"Slack could not be reached ({type(err).__name__}): try again in a minute.") from None
    return sorted(found, key=lambda c: c.name)


def choose(ctx: Context, workspace_id: UUID, channel: str, by: UUID) -> Channel:
    """Save ``channel`` (an id from :func:`channels`) as where alerts go; InvalidInput ``invalid_channel`` when the
    bot cannot post there."""
    listed = {c.id: c for c in channels(ctx, workspace_id)}
    picked = listed.get(channel.strip() if isinstance(channel, str) else "")
    if picked is None:
        raise InvalidInput(
            "Pick one of the listed channels: the bot can only post where it was added (invite it with /invite).",
            code="invalid_channel",
        )

    def attempt() -> list[Integrations]:
        integrations = existing(ctx.app, workspace_id)
        integrations.choose_slack_channel(picked.id, by)
        return [integrations]

    save_with_retries(ctx.app, "integrations", attempt)
    return picked


def revoke(ctx: Context, integrations: Integrations) -> tuple[bool, str]:
    """Revoke the stored bot token at Slack (``auth.revoke``): (revoked, what Slack said). A webhook connection has
    no grant to revoke (it is removed in Slack's app settings)."""
    if integrations.slack is None or integrations.slack.mode != "bot":
        return False, "an incoming webhook has no grant to revoke: remove it in the Slack app's settings"
    client, _ = _bot(ctx, integrations)
    try:
        answer = client.auth_revoke()
    except SlackApiError as err:
        reason = err.response.get("error") if isinstance(err.response.data, dict) else err.response.status_code
        return False, f"Slack refused auth.revoke ({reason}): the token no longer works there"
    except OSError as err:
        return False, f"Slack could not be reached ({type(err).__name__}): remove the app in Slack's settings"
    return bool(answer.get("revoked")), "auth.revoke: the bot token was revoked at Slack"
