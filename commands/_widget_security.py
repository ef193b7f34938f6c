"""Widget security shared by the widget endpoints and the admin commands: the policy of a workspace, the
identity secret (derived, never stored) and the checks of a widget request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from commands._common import CONFLICT_RETRIES, conversation_in
from commands.application import ChatAssistApp
from domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from domain.visitor_token import check_visitor_token
from domain.widget_security import WidgetPolicy, WidgetSecurity, widget_security_id

R = TypeVar("R")
MAX_SIGNATURE_CHARS = 128


def identity_secret(secret_key: str, workspace_id: UUID, counter: int) -> str:
    """The workspace's identity secret: hex HMAC-SHA256(secret key, "identity:<workspace id>:<counter>")."""
    message = f"identity:{workspace_id}:{counter}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def user_signature(secret: str, user_id: str) -> str:
    """What the customer's server computes: hex HMAC-SHA256(identity secret, user id)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def policy_of(app: ChatAssistApp, workspace_id: UUID) -> WidgetPolicy:
    """The workspace's widget policy; the defaults (any origin, no verification) when it was never changed."""
    try:
        found: object = app.repository.get(widget_security_id(workspace_id), deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return WidgetPolicy()
    assert isinstance(found, WidgetSecurity)
    return found.policy


def change_security(app: ChatAssistApp, workspace_id: UUID, decide: Callable[[WidgetSecurity], R]) -> R:
    """Load (or create, on the first change) the workspace's WidgetSecurity, decide, save; retry on conflicts."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            aggregate: object = app.repository.get(widget_security_id(workspace_id))
        except AggregateNotFoundError:
            aggregate = WidgetSecurity(workspace_id)
        assert isinstance(aggregate, WidgetSecurity)
        result = decide(aggregate)
        try:
            app.save(aggregate)
        except RecordConflictError:
            if attempt == CONFLICT_RETRIES - 1:
                raise Conflict("The widget security changed while we were saving; try again.") from None
            continue
        return result
    raise AssertionError("unreachable")


class WidgetGuard:
    """Checks widget requests against the workspace's policy (read at most once per ``cache_ttl_s``).

    Its methods block (event store reads): call them in a worker thread.
    """

    def __init__(self, app: ChatAssistApp, secret_key: str, *, cache_ttl_s: float = 1.0) -> None:
        self.app = app
        self._secret_key = secret_key
        self.cache_ttl_s = cache_ttl_s
        self._cache: dict[UUID, tuple[float, WidgetPolicy]] = {}

    def policy(self, workspace_id: UUID) -> WidgetPolicy:
        """The policy, cached briefly (a change made through this process applies at once: see ``forget``)."""
        now = time.monotonic()
        cached = self._cache.get(workspace_id)
        if cached is not None and now - cached[0] < self.cache_ttl_s:
            return cached[1]
        policy = policy_of(self.app, workspace_id)
        if self.cache_ttl_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[workspace_id] = (now, policy)
        return policy

    def cached(self, workspace_id: UUID) -> WidgetPolicy | None:
        """The policy when this process read it less than ``cache_ttl_s`` ago, else None; never blocks, so a widget
        request that finds it here makes no worker-thread hop for it (ADR 0064)."""
        cached = self._cache.get(workspace_id)
        if cached is not None and time.monotonic() - cached[0] < self.cache_ttl_s:
            return cached[1]
        return None

    def forget(self, workspace_id: UUID) -> None:
        """Drop the cached policy of a workspace (after a change)."""
        self._cache.pop(workspace_id, None)

    def secret(self, workspace_id: UUID, policy: WidgetPolicy) -> str:
        """The current identity secret of the workspace."""
        return identity_secret(self._secret_key, workspace_id, policy.secret_counter)

    @staticmethod
    def check_origin(policy: WidgetPolicy, origin: str | None) -> None:
        """Forbidden ``origin_not_allowed`` when the workspace lists origins and ``origin`` is not one of them."""
        if policy.allows_origin(origin):
            return
        shown = f"The origin {origin[:100]!r}" if origin else "A request without an Origin header"
        raise Forbidden(
            f"{shown} is not allowed to use this widget: an admin can add it to the allowed origins "
            "(dashboard widget security, or PATCH /api/widget/security).",
            code="origin_not_allowed",
        )

    def check_identity(
        self, workspace_id: UUID, policy: WidgetPolicy, user_id: str | None, signature: str | None
    ) -> None:
        """With identity verification on: the signature of ``user_id`` must match (compared in constant time)."""
        if not policy.require_identity_verification:
            return
        if not user_id or not signature:
            raise Unauthorized(
                "This workspace requires identity verification: send the visitor's id with its signature "
                "(data-user-id and data-user-signature on the widget's script tag).",
                code="identity_signature_required",
            )
        expected = user_signature(self.secret(workspace_id, policy), user_id)
        given = signature.strip().lower()[:MAX_SIGNATURE_CHARS]
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise Forbidden(
                "The identity signature does not match this user id: sign the id with the workspace's current "
                "identity secret (it changes when an admin rotates it).",
                code="invalid_identity_signature",
            )

    def check_owner(self, workspace_id: UUID, conversation_id: UUID, user_id: str) -> None:
        """NotFound ``conversation_not_found`` unless the conversation is this visitor's (as for a missing one)."""
        try:
            conversation = conversation_in(self.app, workspace_id, conversation_id)
        except NotFound:
            return  # the endpoint itself answers 404 for a missing conversation
        if conversation.end_user_id != user_id:
            raise NotFound(f"No conversation with id {conversation_id}.", code="conversation_not_found")

    def check_visitor_token(self, workspace_id: UUID, conversation_id: UUID, token: str | None) -> None:
        """Unauthorized / Forbidden (domain/visitor_token.py) unless ``token`` is the conversation's current
        visitor token; a missing conversation passes (the endpoint itself answers 404), but only with a token."""
        if not (token or "").strip():
            check_visitor_token(None, token)  # raises visitor_token_required, before any read
        try:
            conversation = conversation_in(self.app, workspace_id, conversation_id)
        except NotFound:
            return
        check_visitor_token(conversation.visitor_token_sha256, token)
