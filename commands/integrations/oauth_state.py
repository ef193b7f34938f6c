"""The ``state`` of an OAuth install flow, on PostgreSQL: bound to the signed-in Admin and their workspace, usable
once, expiring. Implements slack-sdk's ``OAuthStateStore`` (``issue`` / ``consume``); ``claim`` is the stricter
check the callback makes (the same Admin and workspace that started the flow)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from slack_sdk.oauth.state_store import OAuthStateStore

from domain.errors import InvalidInput

STATE_TTL = timedelta(minutes=10)
# States (and their PKCE verifiers) expired for a day are deleted when a new one is issued: the table holds only the
# flows of the last day, whatever the install history (a callback with a purged state reads as "not one of ours").
FORGET_AFTER = timedelta(days=1)
CLAIM = (
    "UPDATE oauth_states SET used_at = now() WHERE state = %s AND provider = %s AND used_at IS NULL"
    " RETURNING workspace_id, account_id, expires_at, code_verifier, detail"
)


class OAuthStateRefused(InvalidInput):
    """The callback's ``state`` is missing, unknown, already used, expired or someone else's: nothing stored."""

    code = "oauth_state_invalid"


@dataclass(frozen=True)
class Claimed:
    """What a claimed state carried: the PKCE code verifier (None without PKCE) and the flow's detail."""

    code_verifier: str | None
    detail: dict[str, Any]


class PostgresOAuthStateStore(OAuthStateStore):
    """States of one provider's install flow in the ``oauth_states`` table."""

    def __init__(self, pool: ConnectionPool[Any], provider: str, ttl: timedelta = STATE_TTL) -> None:
        self.pool, self.provider, self.ttl = pool, provider, ttl

    @property
    def logger(self) -> logging.Logger:
        """slack-sdk's interface asks for one."""
        return logging.getLogger("chatassist.oauth")

    def issue(
        self,
        *args: object,
        workspace_id: UUID | None = None,
        account_id: UUID | None = None,
        code_verifier: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> str:
        """A new random state for the Admin ``account_id`` of ``workspace_id`` (both required); with PKCE, the
        ``code_verifier`` and what the callback needs (``detail``) are kept with it."""
        if workspace_id is None or account_id is None:
            raise ValueError("an OAuth state is bound to a workspace and an Admin")
        state = secrets.token_urlsafe(32)
        with self.pool.connection() as conn:
            conn.execute("DELETE FROM oauth_states WHERE expires_at < %s", (datetime.now(UTC) - FORGET_AFTER,))
            conn.execute(
                "INSERT INTO oauth_states (state, provider, workspace_id, account_id, expires_at, code_verifier,"
                " detail) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (state, self.provider, workspace_id, account_id, datetime.now(UTC) + self.ttl, code_verifier,
                 Jsonb(detail or {})),
            )  # fmt: skip
        return state

    def claim(self, state: str | None, workspace_id: UUID, account_id: UUID) -> Claimed:
        """Use the state once for this Admin and workspace (its PKCE verifier and detail returned); OAuthStateRefused
        (with a sentence saying what to do) when it is missing, unknown or already used, expired, or was issued to
        someone else."""
        if not state:
            raise OAuthStateRefused("The answer from the provider carried no state: start again from Integrations.")
        row = self._use(state)
        if row is None:
            raise OAuthStateRefused(
                "This sign-in link was already used or is not one of ours: start again from Integrations."
            )
        issued_ws, issued_to, expires_at, verifier, detail = row
        if (issued_ws, issued_to) != (workspace_id, account_id):
            raise OAuthStateRefused(
                "This sign-in was started by another person or workspace: start it yourself from Integrations."
            )
        if expires_at <= datetime.now(UTC):
            raise OAuthStateRefused(
                "This sign-in took more than 10 minutes and expired: start again from Integrations."
            )
        return Claimed(verifier, dict(detail or {}))

    def consume(self, state: str) -> bool:
        """slack-sdk's interface: use the state once, whoever it was issued to (``claim`` also checks that)."""
        row = self._use(state)
        return row is not None and row[2] > datetime.now(UTC)

    def _use(self, state: str) -> tuple[UUID, UUID, datetime, str | None, dict[str, Any]] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            row = cur.execute(CLAIM, (state, self.provider)).fetchone()
            conn.commit()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None
