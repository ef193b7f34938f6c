"""Make one delivery attempt: claim the row with a lease, send with a timeout, record the attempt, decide.

Every step is a conditional statement on the delivery row, so running an actor twice (a message delivered twice by
the broker, a sweep re-sending a message that was only slow) sends at most once per lease: the second claim finds
the row delivered, or leased by someone else, or not yet due. A worker killed mid-send leaves the row leased; once
the lease expires, the sweep re-enqueues it and another worker sends the same bytes with the same ``webhook-id``
(receivers de-duplicate on it, as Standard Webhooks asks). No sleep: a retry is a delayed message or the sweep.
"""

from __future__ import annotations

import http.client
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from standardwebhooks.webhooks import Webhook

from commands.integrations.secrets import private_address, unseal
from commands.provider_keys.cipher import KeyCipher
from domain.integrations import DELIVERED, FAILED, RETRY, RETRY_SCHEDULE_S, outcome_of, parse_retry_after, retry_delay
from projections.integrations.projection import ATTEMPTS, CONVERSATIONS, DELIVERIES, TARGETS
from workers.http_post import Poster

log = logging.getLogger("chatassist.integrations")
EXCERPT_CHARS = 500
SHORT_RETRY_S = 120.0  # retries sooner than this go back on the queue as delayed messages; later ones to the sweep
RetryLater = Callable[[str, str, float], None]  # (kind, delivery id, delay in seconds)
OnGone = Callable[[Any, str, str], None]  # (workspace id, endpoint id, reason)
OnTicket = Callable[[Any, str, str], None]  # (conversation id, system, ticket id)
FreshToken = Callable[[Any, str], str | None]  # (workspace id, system): an OAuth access token, refreshed if due
# Zendesk: an earlier delivery of the same conversation still in flight, and the ticket it may have opened
ZENDESK_STATE = (
    f"SELECT (SELECT external_ref FROM {DELIVERIES} WHERE conversation_id = %(cid)s AND target_id = %(t)s"
    "   AND external_ref IS NOT NULL LIMIT 1) AS ticket,"
    f" (SELECT zendesk_ticket FROM {CONVERSATIONS} WHERE id = %(cid)s) AS recorded,"
    f" EXISTS (SELECT 1 FROM {DELIVERIES} WHERE conversation_id = %(cid)s AND target_id = %(t)s"
    "   AND notification_id < %(pos)s AND status IN ('pending', 'delivering')) AS earlier_pending"
)

CLAIM = (
    f"UPDATE {DELIVERIES} d SET status = 'delivering', attempts = d.attempts + 1, last_attempt_at = now(),"
    " lease_until = now() + make_interval(secs => %(lease)s), lease_token = %(token)s"
    f" FROM {TARGETS} t WHERE d.id = ANY(%(ids)s::uuid[]) AND t.target_id = d.target_id AND ("
    " (d.status = 'pending' AND d.next_attempt_at <= now()) OR (d.status = 'delivering' AND d.lease_until < now()))"
    " RETURNING d.id::text AS id, d.workspace_id, d.target_id, d.kind, d.body, d.attempts, d.conversation_id,"
    " d.notification_id, t.config, t.url, t.enabled,"
    " t.removed, t.mode, t.channel, t.key_id, t.ciphertext, t.previous_key_id, t.previous_ciphertext,"
    " t.previous_valid_until, now() AS now"
)
RELEASE = (
    f"UPDATE {DELIVERIES} SET status = 'pending', attempts = attempts - 1, lease_until = NULL, lease_token = NULL,"
    " next_attempt_at = now() + make_interval(secs => %(wait)s), enqueued_at = now() + make_interval(secs => %(wait)s)"
    " WHERE id = %(id)s AND lease_token = %(token)s RETURNING id::text AS id"
)
NOT_DUE = (
    f"SELECT kind, id::text AS id, extract(epoch FROM next_attempt_at - now())::float AS wait_s FROM {DELIVERIES}"
    " WHERE id = ANY(%(ids)s::uuid[]) AND status = 'pending' AND next_attempt_at > now()"
)
RECORD = (
    f"WITH a AS (INSERT INTO {ATTEMPTS} (delivery_id, attempt, at, status_code, latency_ms, outcome, excerpt)"
    " VALUES (%(id)s, %(n)s, %(at)s, %(code)s, %(ms)s, %(outcome)s, %(excerpt)s) ON CONFLICT DO NOTHING)"
    f" UPDATE {DELIVERIES} SET status = %(status)s, lease_until = NULL, lease_token = NULL,"
    " next_attempt_at = coalesce(now() + make_interval(secs => %(delay)s), next_attempt_at),"
    " enqueued_at = CASE WHEN %(queued)s THEN now() + make_interval(secs => %(delay)s) END,"
    " delivered_at = CASE WHEN %(status)s = 'delivered' THEN now() END,"
    " last_status_code = %(code)s, last_error = %(error)s, external_ref = coalesce(%(ref)s, external_ref)"
    " WHERE id = %(id)s AND lease_token = %(token)s"
    " RETURNING id::text AS id"
)


@dataclass(frozen=True)
class DeliveryConfig:
    """How deliveries are made (chatassist/settings.py names the environment variables)."""

    cipher: KeyCipher | None
    timeout_s: float = 10.0
    schedule: tuple[float, ...] = RETRY_SCHEDULE_S
    allow_private: bool = False
    slack_api_url: str | None = None
    hubspot_api_url: str | None = None
    lease_margin_s: float = 5.0


@dataclass
class Sent:
    """What one attempt got: a status code (None: no answer), an excerpt, a Retry-After, a final verdict."""

    status_code: int | None
    excerpt: str
    retry_after_s: float | None = None
    outcome: str | None = None  # None: from the status code
    gone: bool = False  # 410 from a webhook endpoint: disable it
    ref: str | None = None  # what the vendor created (a Zendesk ticket id), recorded on the row and the conversation


@dataclass
class Deliverer:
    """Delivers rows of ``integration_v1_deliveries`` (one call per attempt, from any number of threads)."""

    database_url: str
    config: DeliveryConfig
    retry_later: RetryLater | None = None
    on_gone: OnGone | None = None
    on_ticket: OnTicket | None = None
    pool_size: int = 4
    _signers: dict[tuple[Any, str, str], Webhook] = field(default_factory=dict)
    pool: ConnectionPool[Any] | None = None
    poster: Poster | None = None
    zendesk_client: httpx.Client | None = None
    _shared: bool = False
    fresh_token: FreshToken | None = None  # HubSpot by OAuth: the access token, refreshed before it expires

    def open(self) -> Deliverer:
        """Open the connection pool, unless one was given (the process's shared pool, which its owner closes)."""
        if self.pool is not None:
            self._shared = True
            return self
        self.pool = ConnectionPool(
            self.database_url,
            min_size=1,
            max_size=self.pool_size,
            kwargs={"autocommit": True, "row_factory": dict_row, "application_name": "chatassist deliveries"},
            open=True,
        )
        return self

    def close(self) -> None:
        """Close the pool (unless shared)."""
        if self.pool is not None and not self._shared:
            self.pool.close()

    def deliver(self, delivery_id: str) -> str | None:
        """One attempt at ``delivery_id`` if it is due and not leased; returns the new status, or None when nothing
        was attempted (delivered already, leased by another worker, or re-queued because it is not due yet)."""
        return self.deliver_many([delivery_id]).get(delivery_id)

    def deliver_many(self, delivery_ids: list[str]) -> dict[str, str]:
        """An attempt at each of ``delivery_ids`` that is due and not leased (claimed in one statement, sent one after
        the other, recorded in one pipeline); returns the new status of each one attempted.

        A batch stops sending to a target after its first answer that asks for a retry (the rest of the target's
        rows wait as long, their attempt not counted), and stops altogether at half its lease: what is left goes
        back to pending and on the queue, so a slow endpoint never holds a lease past its end."""
        assert self.pool is not None, "Deliverer.open() first"
        token = uuid.uuid4()
        lease = self.config.timeout_s * 2 + self.config.lease_margin_s
        with self.pool.connection() as conn:
            claimed = conn.execute(CLAIM, {"ids": delivery_ids, "lease": lease, "token": token}, prepare=True)
            rows = {str(r["id"]): r for r in claimed.fetchall()}
            if len(rows) < len(delivery_ids) and self.retry_later is not None:
                missing = [i for i in delivery_ids if i not in rows]
                for early in conn.execute(NOT_DUE, {"ids": missing}).fetchall():
                    self.retry_later(str(early["kind"]), str(early["id"]), float(early["wait_s"]))
        stop_at = time.monotonic() + lease / 2
        results: list[tuple[dict[str, Any], Sent, datetime, float]] = []
        waiting: dict[str, float] = {}  # target -> seconds its remaining rows wait
        left: list[tuple[dict[str, Any], float]] = []
        for delivery_id in delivery_ids:
            row = rows.get(delivery_id)
            if row is None:
                continue
            if time.monotonic() > stop_at or row["target_id"] in waiting:
                left.append((row, waiting.get(row["target_id"], 0.0)))
                continue
            started, at = time.perf_counter(), datetime.now(UTC)
            try:
                sent = self._send(row)
            except Exception as err:  # a bug or a library error: costs one attempt, never the worker
                log.warning("delivery %s: %r", delivery_id, err)
                sent = Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
            results.append((row, sent, at, (time.perf_counter() - started) * 1000))
            if (sent.outcome or outcome_of(sent.status_code)) == RETRY:
                waiting[row["target_id"]] = sent.retry_after_s or 0.0
        statuses = self._record(results, token) if results else {}
        if left:
            self._release(left, token)
        return statuses

    # --- deciding -----------------------------------------------------------------------------------------------

    def _decide(self, row: dict[str, Any], sent: Sent) -> tuple[str, str, float | None]:
        """(outcome, status, delay before the next attempt)."""
        outcome = sent.outcome or outcome_of(sent.status_code)
        if outcome == DELIVERED:
            return outcome, "delivered", None
        if outcome == FAILED:
            return outcome, "failed", None
        delay = retry_delay(int(row["attempts"]), sent.retry_after_s, self.config.schedule)
        return (RETRY, "pending", delay) if delay is not None else ("dead", "dead", None)

    def _record(self, results: list[tuple[dict[str, Any], Sent, datetime, float]], token: uuid.UUID) -> dict[str, str]:
        params, decided = [], {}
        for row, sent, at, latency_ms in results:
            outcome, status, delay = self._decide(row, sent)
            queued = delay is not None and delay <= SHORT_RETRY_S and self.retry_later is not None
            error = None if outcome == DELIVERED else (sent.excerpt or f"HTTP {sent.status_code}")[:EXCERPT_CHARS]
            decided[row["id"]] = (row, sent, status, delay if queued else None)
            params.append(
                {
                    "id": row["id"],
                    "n": int(row["attempts"]),
                    "at": at,
                    "code": sent.status_code,
                    "ms": latency_ms,
                    "outcome": outcome,
                    "excerpt": sent.excerpt[:EXCERPT_CHARS],
                    "status": status,
                    "delay": delay,
                    "queued": queued,
                    "error": error,
                    "token": token,
                    "ref": sent.ref,
                }
            )
        assert self.pool is not None
        recorded: set[str] = set()
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(RECORD, params, returning=True)
            while True:
                recorded.update(str(r["id"]) for r in cur.fetchall())
                if not cur.nextset():
                    break
        statuses = {}
        for delivery_id, (row, sent, status, queued_delay) in decided.items():
            statuses[delivery_id] = status
            if delivery_id not in recorded:
                log.info("delivery %s: the lease expired during the attempt; another worker owns it now", delivery_id)
                continue
            if queued_delay is not None and self.retry_later is not None:
                self.retry_later(str(row["kind"]), delivery_id, queued_delay)
            if sent.gone and self.on_gone is not None:
                self.on_gone(row["workspace_id"], str(row["target_id"]), "The endpoint answered 410 Gone.")
            if sent.ref and self.on_ticket is not None and row["conversation_id"] is not None:
                try:
                    self.on_ticket(row["conversation_id"], str(row["kind"]), sent.ref)
                except Exception:  # the delivery is recorded with its ticket: later updates find it there
                    log.warning(
                        "delivery %s: could not record ticket %s on the conversation",
                        delivery_id,
                        sent.ref,
                        exc_info=True,
                    )
        return statuses

    def _release(self, left: list[tuple[dict[str, Any], float]], token: uuid.UUID) -> None:
        """Put claimed rows that were not sent back to pending (their attempt not counted), due after ``wait``."""
        assert self.pool is not None
        with self.pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                RELEASE, [{"id": row["id"], "wait": wait, "token": token} for row, wait in left], returning=True
            )
            released: set[str] = set()
            while True:
                released.update(str(r["id"]) for r in cur.fetchall())
                if not cur.nextset():
                    break
        for row, wait in left:
            if row["id"] in released and self.retry_later is not None:
                self.retry_later(str(row["kind"]), str(row["id"]), wait)

    # --- sending ------------------------------------------------------------------------------------------------

    def _send(self, row: dict[str, Any]) -> Sent:
        if row["removed"] or not row["enabled"]:
            return Sent(None, "The target was disabled or removed before this attempt.", outcome=FAILED)
        if row["kind"] == "webhook":
            return self._send_webhook(row)
        if row["kind"] == "slack":
            return self._send_slack(row)
        if row["kind"] == "zendesk":
            return self._send_zendesk(row)
        if row["kind"] == "hubspot":
            return self._send_hubspot(row)
        return Sent(None, f"No sender for {row['kind']!r}.", outcome=FAILED)

    def _secret(self, row: dict[str, Any], what: str, key_id: str, ciphertext: str) -> str:
        if self.config.cipher is None:
            raise RuntimeError("CHATASSIST_KEYS_ENCRYPTION_KEY is not set: integration secrets cannot be read")
        return unseal(self.config.cipher, row["workspace_id"], what, key_id, ciphertext)

    def _signer(self, row: dict[str, Any], key_id: str, ciphertext: str) -> Webhook:
        cache_key = (row["workspace_id"], str(row["target_id"]), ciphertext)
        signer = self._signers.get(cache_key)
        if signer is None:
            secret = self._secret(row, f"webhook:{row['target_id']}", key_id, ciphertext)
            signer = Webhook(secret)
            if len(self._signers) > 10_000:
                self._signers.clear()
            self._signers[cache_key] = signer
        return signer

    def _poster(self) -> Poster:
        if self.poster is None:
            self.poster = Poster(self.config.timeout_s, EXCERPT_CHARS * 4)
        return self.poster

    def _send_webhook(self, row: dict[str, Any]) -> Sent:
        url = str(row["url"])
        if not self.config.allow_private:
            host = urlsplit(url).hostname or ""
            found = private_address(host)
            if found is not None:
                return Sent(None, f"The endpoint's host {host} resolves to {found}: not delivered.", outcome=FAILED)
        signers = [self._signer(row, row["key_id"], row["ciphertext"])]
        if row["previous_ciphertext"] and row["previous_valid_until"] and row["previous_valid_until"] > row["now"]:
            signers.append(self._signer(row, row["previous_key_id"], row["previous_ciphertext"]))
        body: bytes = bytes(row["body"])
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": row["id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(s.sign(row["id"], now, body) for s in signers),
            "user-agent": "ChatAssist-Webhooks/1",
        }
        try:
            answer = self._poster().post(url, body, headers)
        except (OSError, http.client.HTTPException) as err:  # refused, reset, timed out, not HTTP
            return Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
        excerpt = answer.start.decode("utf-8", "replace")[:EXCERPT_CHARS]
        retry_after = parse_retry_after(answer.headers.get("retry-after"), now)
        return Sent(answer.status, excerpt, retry_after, gone=answer.status == 410)

    def _zendesk_client(self) -> httpx.Client:
        if self.zendesk_client is None:
            self.zendesk_client = httpx.Client(timeout=self.config.timeout_s, follow_redirects=False)
        return self.zendesk_client

    def _send_zendesk(self, row: dict[str, Any]) -> Sent:
        """Create the conversation's ticket (``Idempotency-Key`` = the delivery id, ``external_id`` = the
        conversation), or change the ticket an earlier delivery opened, never a second one."""
        import json

        assert self.pool is not None
        with self.pool.connection() as conn:
            params = {"cid": row["conversation_id"], "t": row["target_id"], "pos": row["notification_id"]}
            state = conn.execute(ZENDESK_STATE, params).fetchone()
        if state and state["earlier_pending"]:  # its ticket may not exist yet: wait for the earlier delivery
            return Sent(None, "Waiting for an earlier delivery of this conversation.", retry_after_s=2.0, outcome=RETRY)
        ticket_id = (state or {}).get("ticket") or (state or {}).get("recorded")
        body = json.loads(bytes(row["body"]))
        config = row["config"] or {}
        token = self._secret(row, "zendesk", row["key_id"], row["ciphertext"])
        # an API token: basic auth "{email}/token"; connected by OAuth: the bearer access token
        oauth = bool(config.get("oauth"))
        bearer = {"Authorization": f"Bearer {token}"} if oauth else {}
        auth: dict[str, Any] = {} if oauth else {"auth": (f"{config.get('email')}/token", token)}
        base = _zendesk_base(config)
        try:
            if ticket_id:
                change = {k: v for k, v in body["ticket"].items() if k in ("status", "comment", "priority")}
                response = self._zendesk_client().put(
                    f"{base}/api/v2/tickets/{ticket_id}.json", json={"ticket": change}, headers=bearer, **auth
                )
            else:
                headers = {"Idempotency-Key": str(row["id"]), **bearer}
                response = self._zendesk_client().post(
                    f"{base}/api/v2/tickets.json", json={"ticket": body["ticket"]}, headers=headers, **auth
                )
        except httpx.HTTPError as err:
            return Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
        excerpt = response.text[:EXCERPT_CHARS]
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        ref = None
        if 200 <= response.status_code < 300 and not ticket_id:
            try:
                ref = str(response.json()["ticket"]["id"])
            except (ValueError, KeyError, TypeError):
                return Sent(response.status_code, "Zendesk answered without a ticket id: " + excerpt, outcome=RETRY)
        return Sent(response.status_code, excerpt, retry_after, ref=ref)

    def _send_hubspot(self, row: dict[str, Any]) -> Sent:
        """Upsert the visitor's contact by email, then a note associated with it (the note id is recorded on the
        conversation). HubSpot notes take no idempotency key: an answer lost after the note was made can make a
        second note on the retry."""
        import json

        from hubspot import HubSpot
        from hubspot.crm.contacts import (
            BatchInputSimplePublicObjectBatchInputUpsert,
            SimplePublicObjectBatchInputUpsert,
        )
        from hubspot.crm.contacts.exceptions import ApiException as ContactsError
        from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate
        from hubspot.crm.objects.notes.exceptions import ApiException as NotesError

        body = json.loads(bytes(row["body"]))
        token: str | None = None
        if self.fresh_token is not None:  # connected by OAuth: the current access token, refreshed when due
            from commands.integrations.hubspot_oauth import TokenRefreshRefused

            try:
                token = self.fresh_token(row["workspace_id"], "hubspot")
            except TokenRefreshRefused as exc:
                return Sent(None, f"hubspot: {exc.message}"[:EXCERPT_CHARS], outcome=FAILED)
        token = token or self._secret(row, "hubspot", row["key_id"], row["ciphertext"])
        options: dict[str, Any] = {"access_token": token}
        if self.config.hubspot_api_url:
            options["host"] = self.config.hubspot_api_url.rstrip("/")
        client = HubSpot(**options)
        contact = body["contact"]
        upsert = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[SimplePublicObjectBatchInputUpsert(id_property="email", id=contact["email"], properties=contact)]
        )
        try:
            upserted = client.crm.contacts.batch_api.upsert(
                batch_input_simple_public_object_batch_input_upsert=upsert, _request_timeout=self.config.timeout_s
            )
            contact_id = upserted.results[0].id
            note = SimplePublicObjectInputForCreate(
                properties={"hs_note_body": body["note"], "hs_timestamp": datetime.now(UTC).isoformat()},
                associations=[
                    {
                        "to": {"id": contact_id},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
                    }
                ],
            )
            made = client.crm.objects.notes.basic_api.create(
                simple_public_object_input_for_create=note, _request_timeout=self.config.timeout_s
            )
        except (ContactsError, NotesError) as err:
            headers = err.headers or {}
            retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            return Sent(err.status or None, f"hubspot: {err.reason}: {err.body or ''}"[:EXCERPT_CHARS], retry_after)
        except Exception as err:  # urllib3's connection errors and timeouts
            return Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
        return Sent(201, f"contact {contact_id}, note {made.id}", ref=str(made.id))

    def _send_slack(self, row: dict[str, Any]) -> Sent:
        import json

        body = json.loads(bytes(row["body"]))
        body.pop("metadata", None)
        secret = self._secret(row, "slack", row["key_id"], row["ciphertext"])
        timeout = max(1, round(self.config.timeout_s))
        if row["mode"] == "webhook":
            try:
                answer = WebhookClient(secret, timeout=timeout, retry_handlers=[]).send_dict(body)
            except Exception as err:  # urllib's connection errors and timeouts
                return Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
            retry_after = parse_retry_after((answer.headers or {}).get("Retry-After") or _header(answer.headers))
            return Sent(answer.status_code, str(answer.body)[:EXCERPT_CHARS], retry_after)
        client = WebClient(
            token=secret, base_url=_api_base(self.config.slack_api_url), timeout=timeout, retry_handlers=[]
        )
        try:
            client.chat_postMessage(channel=row["channel"], text=body["text"], blocks=body["blocks"])
        except SlackApiError as err:
            status = err.response.status_code
            headers = err.response.headers or {}
            retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            code = err.response.get("error") if isinstance(err.response.data, dict) else None
            if status == 200:  # ok: false: ratelimited retries, any other error is the configuration's
                return Sent(
                    200, f"slack error: {code}", retry_after, outcome=RETRY if code == "ratelimited" else FAILED
                )
            return Sent(status, f"slack error: {code or err.response.data}"[:EXCERPT_CHARS], retry_after)
        except Exception as err:
            return Sent(None, f"{type(err).__name__}: {err}"[:EXCERPT_CHARS])
        return Sent(200, "ok")


def _zendesk_base(config: dict[str, Any]) -> str:
    base = config.get("base_url") or f"https://{config['subdomain']}.zendesk.com"
    return str(base).rstrip("/")


def _header(headers: Any) -> str | None:
    for key, value in (headers or {}).items():
        if str(key).lower() == "retry-after":
            return str(value[0] if isinstance(value, list) else value)
    return None


def _api_base(url: str | None) -> str:
    if not url:
        return "https://slack.com/api/"
    return url if url.endswith("/") else url + "/"


_deliverer: Deliverer | None = None


def set_deliverer(deliverer: Deliverer) -> None:
    """Give the delivery actors of this process their deliverer (the composition root, before the worker starts)."""
    global _deliverer
    _deliverer = deliverer


def get_deliverer() -> Deliverer:
    """The deliverer set by ``set_deliverer``."""
    if _deliverer is None:
        raise RuntimeError("workers.deliver.set_deliverer() was not called before the worker started")
    return _deliverer
