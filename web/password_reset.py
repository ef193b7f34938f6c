"""/api/auth/password-reset: ask for a reset link (always 202), and set a new password with its token."""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
import msgspec
from litestar import Controller, post
from litestar.exceptions import TooManyRequestsException

from commands._password_reset import Sender
from commands.request_password_reset import cmd as request_cmd
from commands.reset_password import cmd as reset_cmd
from web.auth import Auth
from web.auth_schemas import Email, Password, Token
from web.ratelimit import count_hit

log = logging.getLogger("chatassist.password_reset")
ANSWER_FLOOR_S = 0.05
ACCEPTED = "If an account uses this email, a reset link is on its way. It works once, for 30 minutes."


class ResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The account's email."""

    email: Email


class ResetAccepted(msgspec.Struct):
    """The same answer whether or not an account uses the email."""

    message: str = ACCEPTED


class ResetConfirm(msgspec.Struct, forbid_unknown_fields=True):
    """The token of the reset link and the new password (the policy of sign-up applies)."""

    token: Token
    new_password: Password


class PasswordChangedBody(msgspec.Struct):
    """Done: every earlier session of the account is signed out; sign in with the new password."""

    ok: bool = True
    sessions_revoked: bool = True


class PasswordResets:
    """Issues and redeems reset tokens; throttles requests per email in Redis. Methods block: call in a thread."""

    def __init__(
        self,
        auth: Auth,
        sender: Sender | None = None,
        *,
        ttl: timedelta = request_cmd.RESET_TTL,
        max_requests: int = 3,
        window_s: int = 15 * 60,
    ) -> None:
        self.auth = auth
        self.sender = sender or auth.reset_sender
        self.ttl, self.max_requests, self.window_s = ttl, max_requests, window_s
        # Links are sent off the request path, one at a time: the answer for an email with an account must not
        # take longer than for one without (an SMTP round trip would say which is which).
        self._outbox = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-reset-sender")
        self._pending: list[Future[None]] = []

    def send_password_reset(self, email: str, link: str, expires_at: datetime) -> None:
        """Queue the link for the real sender (``Sender`` for the command); returns at once. A durable sender (the
        email outbox: one INSERT, under the answer's time floor) is called here, so no crash loses the link."""
        if getattr(self.sender, "durable", False):
            self._send(email, link, expires_at)
            return
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._outbox.submit(self._send, email, link, expires_at))

    def _send(self, email: str, link: str, expires_at: datetime) -> None:
        try:
            self.sender.send_password_reset(email, link, expires_at)
        except Exception:
            log.exception("the password-reset link could not be sent")

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued link has been handed to the sender (tests, shutdown)."""
        wait(list(self._pending), timeout=timeout)

    def request(self, email: str) -> None:
        """Throttle (per email, whether or not it has an account), then issue and send when the account exists."""
        self.throttle(email)
        command = request_cmd.RequestPasswordReset(email, self.auth.public_url, self.ttl)
        request_cmd.execute(self.auth.app, command, self.auth.signer, self)

    def confirm(self, token: str, new_password: str) -> None:
        """Set the password, then sign out every session issued before."""
        account_id = reset_cmd.execute(self.auth.app, reset_cmd.ResetPassword(token, new_password), self.auth.signer)
        self.auth.revoke_all(account_id)

    def throttle(self, email: str) -> None:
        """429 ``too_many_reset_requests`` with Retry-After past ``max_requests`` per window for one email."""
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        key = f"{self.auth.prefix}:reset-requests:{digest}"
        count, ttl = count_hit(self.auth.redis, key, self.window_s)
        if count > self.max_requests:
            retry_after = max(int(ttl), 1)
            raise TooManyRequestsException(
                detail=f"Too many reset requests for this email: try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
                extra={"code": "too_many_reset_requests"},
            )


class PasswordResetController(Controller):
    """Forgotten passwords. The request never says whether an account exists."""

    path = "/api/auth/password-reset"
    tags = ["auth"]

    @post("/", operation_id="requestPasswordReset", status_code=202, summary="Send a password reset link")
    async def request_reset(self, data: ResetRequest, password_resets: PasswordResets) -> ResetAccepted:
        """Always 202 with the same body, in the same time; 429 ``too_many_reset_requests`` past 3 requests per 15
        minutes."""
        began = time.monotonic()
        await anyio.to_thread.run_sync(password_resets.request, data.email)
        # The lookup and the signing differ by a fraction of a millisecond between the two cases: every answer
        # waits until the same floor, so the time says nothing about the email.
        await anyio.sleep(max(0.0, ANSWER_FLOOR_S - (time.monotonic() - began)))
        return ResetAccepted()

    @post("/confirm", operation_id="confirmPasswordReset", status_code=200, summary="Set a new password")
    async def confirm(self, data: ResetConfirm, password_resets: PasswordResets) -> PasswordChangedBody:
        """400 ``invalid_reset_token``, 410 ``reset_token_expired``, 409 ``reset_token_used``, 422 ``weak_password``."""
        await anyio.to_thread.run_sync(password_resets.confirm, data.token, data.new_password)
        return PasswordChangedBody()
