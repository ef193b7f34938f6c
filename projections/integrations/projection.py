"""The integrations follower: turns events into delivery rows, committed with its tracking position.

It keeps what it needs to address and fill deliveries (each workspace's targets, each conversation's workspace,
visitor, topic and last escalation) from the same events, so a delivery row depends only on the events before it:
a replay writes the same rows with the same ids (``ON CONFLICT DO NOTHING``), never a second delivery. No HTTP call
happens here; after a page commits, ``IntegrationsView.committed`` hands the new delivery ids to ``enqueue`` (the
Dramatiq actors, set by the composition root). A lost message is found again by the sweep (workers/sweep.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from domain.conversation import Conversation
from domain.correlation import request_id_of
from domain.integrations import (
    HUBSPOT_EVENT_TYPES,
    SLACK_EVENT_TYPES,
    TEST_EVENT_TYPE,
    ZENDESK_EVENT_TYPES,
    Integrations,
)
from projections._common import Statement, TrackedView, event_class
from projections.integrations import payloads

PREFIX = "integration_v1"
TARGETS, CONVERSATIONS, DELIVERIES, ATTEMPTS = (
    f"{PREFIX}_{t}" for t in ("targets", "conversations", "deliveries", "attempts")
)
log = logging.getLogger("chatassist.integrations")
Enqueue = Callable[[list[tuple[str, str]]], None]  # [(kind, delivery id)]

_INSERT = (
    f"INSERT INTO {DELIVERIES} (id, workspace_id, target_id, kind, event_type, conversation_id, notification_id,"
    " event_at, body) SELECT md5(%(key)s || ':' || t.target_id)::uuid, t.workspace_id, t.target_id, t.kind, %(type)s,"
    " %(cid)s, %(pos)s,"
    f" %(at)s, %(body)s FROM {TARGETS} t WHERE t.kind = %(kind)s AND t.enabled AND NOT t.removed"
    " AND t.valid_from < %(pos)s AND "
)
FOR_WORKSPACE = "t.workspace_id = %(ws)s AND %(type)s = ANY(t.event_types) ON CONFLICT (id) DO NOTHING"
FOR_CONVERSATION = (
    f"t.workspace_id = (SELECT workspace_id FROM {CONVERSATIONS} WHERE id = %(cid)s)"
    " AND %(type)s = ANY(t.event_types) ON CONFLICT (id) DO NOTHING"
)


class IntegrationsView(TrackedView):
    """Tables ``integration_v1_*`` (migrations/0022) plus this follower's tracking table."""

    prefix: ClassVar[str] = PREFIX
    enqueue: Enqueue | None = None  # set on the runner's view by the composition root

    def committed(self, events: Sequence[tuple[Any, Tracking]]) -> None:
        """After a page commits: send a message for each delivery it created (and each redelivery it applied)."""
        if self.enqueue is None or not events:
            return
        first, last = events[0][1].notification_id, events[-1][1].notification_id
        redelivered = [
            e.delivery_id for e, _ in events if isinstance(e, event_class(Integrations, "RedeliveryRequested"))
        ]
        try:
            rows = self.query(
                f"SELECT kind, id::text AS id, notification_id FROM {DELIVERIES}"
                " WHERE (notification_id BETWEEN %(a)s AND %(b)s AND attempts = 0 OR id::text = ANY(%(ids)s))"
                " AND status = 'pending' ORDER BY notification_id, id",
                {"a": first, "b": last, "ids": redelivered},
            )
            if rows:
                self.enqueue([(str(r["kind"]), str(r["id"])) for r in rows])
                caused_by = {t.notification_id: request_id_of(e) for e, t in events}
                for r in rows:  # the request that caused the event, on the worker's log (docs/operations.md)
                    if caused_by.get(r["notification_id"]):
                        log.info(
                            "queued %s delivery %s of event %s",
                            r["kind"],
                            r["id"],
                            r["notification_id"],
                            extra={"request_id": caused_by[r["notification_id"]]},
                        )
        except Exception:  # Redis or the database down: the rows are committed, the sweep sends them later
            log.warning(
                "could not enqueue the deliveries of positions %s..%s; the sweep will", first, last, exc_info=True
            )


def _event_key(e: Any) -> str:
    return f"{e.originator_id}:{e.originator_version}"


class IntegrationsProjection(Projection[IntegrationsView]):
    """Delivery rows for the webhook endpoints and Slack of each workspace."""

    name = "integration_v1"
    public_url: ClassVar[str] = "http://127.0.0.1:8000"  # the monitor links in Slack; set by the composition root
    topics = tuple(
        get_topic(cls)
        for cls in (
            event_class(Conversation, "Started"),
            event_class(Conversation, "UserMessageReceived"),
            event_class(Conversation, "AssistantReplied"),
            event_class(Conversation, "AgentReplied"),
            event_class(Conversation, "Escalated"),
            event_class(Conversation, "HandoffSummarized"),
            event_class(Conversation, "Resolved"),
            event_class(Conversation, "Closed"),
            event_class(Conversation, "CsatRated"),
            event_class(Conversation, "AgentClaimed"),
            event_class(Conversation, "TopicChanged"),
            event_class(Conversation, "ExternalTicketRecorded"),
            event_class(Integrations, "Created"),
            event_class(Integrations, "EndpointAdded"),
            event_class(Integrations, "EndpointChanged"),
            event_class(Integrations, "EndpointDisabled"),
            event_class(Integrations, "EndpointRemoved"),
            event_class(Integrations, "SecretRotated"),
            event_class(Integrations, "TestRequested"),
            event_class(Integrations, "SlackConnected"),
            event_class(Integrations, "SlackDisconnected"),
            event_class(Integrations, "SlackChannelChosen"),
            event_class(Integrations, "RedeliveryRequested"),
            event_class(Integrations, "ZendeskConnected"),
            event_class(Integrations, "ZendeskDisconnected"),
            event_class(Integrations, "ZendeskInstalled"),
            event_class(Integrations, "HubSpotConnected"),
            event_class(Integrations, "HubSpotDisconnected"),
            event_class(Integrations, "HubSpotInstalled"),
            event_class(Integrations, "TokenRefreshed"),
            event_class(Integrations, "IntercomConnected"),
            event_class(Integrations, "IntercomDisconnected"),
            event_class(Integrations, "BudgetThresholdReached"),
        )
    )

    def monitor_url(self, conversation_id: Any) -> str:
        """The monitor page of a conversation."""
        return f"{self.public_url.rstrip('/')}/monitor?conversation={conversation_id}"

    # --- statements ---------------------------------------------------------------------------------------------

    def _deliver(
        self, tracking: Tracking, e: Any, event_type: str, data: dict[str, Any], extra: Sequence[Statement] = ()
    ) -> None:
        """A webhook delivery to every endpoint of the conversation's workspace subscribed to ``event_type``."""
        params = {
            "key": _event_key(e),
            "type": event_type,
            "pos": tracking.notification_id,
            "at": e.timestamp,
            "body": payloads.webhook_body(event_type, e.timestamp, {"conversation_id": str(e.originator_id), **data}),
            "kind": "webhook",
            "cid": e.originator_id,
        }
        self.view.apply(tracking, [*extra, (_INSERT + FOR_CONVERSATION, params)])

    def _slack(self, tracking: Tracking, e: Any, event_type: str, body: bytes, kind: str = "slack") -> Statement:
        params = {
            "key": _event_key(e) + ":" + kind,
            "type": event_type,
            "pos": tracking.notification_id,
            "at": e.timestamp,
            "body": body,
            "kind": kind,
            "cid": e.originator_id,
        }
        return (_INSERT + FOR_CONVERSATION, params)

    def _zendesk(self, tracking: Tracking, e: Any, event_type: str, body: bytes) -> Statement:
        return self._slack(tracking, e, event_type, body, kind="zendesk")

    def _conversation(self, e: Any, tracking: Tracking | None = None) -> dict[str, Any] | None:
        """The follower's row of the conversation, and the Zendesk settings of its workspace (None: none connected)."""
        rows = self.view.query(
            "SELECT c.visitor, c.topic, c.confidence, c.escalation, c.channel, c.transcript, c.zendesk_ticket,"
            " c.csat, c.summary, c.first_message,"
            f" (SELECT t.config FROM {TARGETS} t WHERE t.workspace_id = c.workspace_id AND t.kind = 'zendesk'"
            "   AND t.enabled AND NOT t.removed AND t.valid_from < %(pos)s LIMIT 1) AS zendesk"
            f" FROM {CONVERSATIONS} c WHERE c.id = %(id)s",
            {"id": e.originator_id, "pos": tracking.notification_id if tracking else 0},
        )
        return rows[0] if rows else None

    def _transcript(self, e: Any, role: str, text: object) -> Statement:
        """Append a message to the conversation's transcript, only while its workspace has Zendesk connected."""
        return (
            f"UPDATE {CONVERSATIONS} c SET transcript = coalesce(c.transcript, '[]'::jsonb)"
            " || jsonb_build_array(jsonb_build_object('role', %(role)s::text, 'text', %(text)s::text))"
            f" WHERE c.id = %(id)s AND EXISTS (SELECT 1 FROM {TARGETS} t WHERE t.workspace_id = c.workspace_id"
            " AND t.kind = 'zendesk' AND t.enabled AND NOT t.removed)",
            {"id": e.originator_id, "role": role, "text": text},
        )

    def _update(self, e: Any, **values: Any) -> Statement:
        sets = ", ".join(f"{k} = %({k})s" for k in values)
        return (f"UPDATE {CONVERSATIONS} SET {sets} WHERE id = %(id)s", {"id": e.originator_id, **values})

    # --- handlers: conversations --------------------------------------------------------------------------------

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of a subscribed topic without a handler is a bug: stop here rather than skip it."""
        raise TypeError(
            f"{self.name}: no handler for {type(domain_event).__qualname__} at position {tracking.notification_id}"
        )

    @process_event.register(event_class(Conversation, "Started"))
    def _(self, e: Any, tracking: Tracking) -> None:
        visitor = {k: e.personal.get(k) for k in ("user_id", "email", "name") if e.personal.get(k)}
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {CONVERSATIONS} (id, workspace_id, channel, visitor, started_at)"
                    " VALUES (%(id)s, %(ws)s, %(ch)s, %(v)s::jsonb, %(at)s) ON CONFLICT (id) DO NOTHING",
                    {
                        "id": e.originator_id,
                        "ws": e.workspace_id,
                        "ch": e.channel,
                        "v": json.dumps(visitor),
                        "at": e.timestamp,
                    },
                )
            ],
        )

    @process_event.register(event_class(Conversation, "UserMessageReceived"))
    def _(self, e: Any, tracking: Tracking) -> None:
        data = {"message_id": e.message_id, "role": "user", "text": e.personal.get("text")}
        first = (
            f"UPDATE {CONVERSATIONS} SET first_message = %(text)s WHERE id = %(id)s AND first_message IS NULL",
            {"id": e.originator_id, "text": str(data["text"] or "")[:500]},
        )
        self._deliver(tracking, e, "message.created", data, [first, self._transcript(e, "user", data["text"])])

    @process_event.register(event_class(Conversation, "AssistantReplied"))
    def _(self, e: Any, tracking: Tracking) -> None:
        data = {
            "message_id": e.message_id,
            "role": "assistant",
            "text": e.personal.get("text"),
            "reply_to": e.reply_to,
            "confidence": e.confidence,
            "topic": e.topic,
        }
        update = self._update(e, topic=e.topic, confidence=e.confidence)
        self._deliver(tracking, e, "message.created", data, [update, self._transcript(e, "assistant", data["text"])])

    @process_event.register(event_class(Conversation, "AgentReplied"))
    def _(self, e: Any, tracking: Tracking) -> None:
        data = {"message_id": e.message_id, "role": "agent", "text": e.personal.get("text"), "agent_id": e.agent_id}
        self._deliver(tracking, e, "message.created", data, [self._transcript(e, "agent", data["text"])])

    @process_event.register(event_class(Conversation, "Escalated"))
    def _(self, e: Any, tracking: Tracking) -> None:
        escalation = {
            "rule": e.rule,
            "priority": e.priority,
            "reason": e.reason,
            "route": e.route,
            "topic": e.topic,
            "after_hours": e.after_hours,
            "next_open_at": e.next_open_at,
        }
        update = self._update(e, topic=e.topic, escalation=json.dumps(escalation))
        self._deliver(tracking, e, "escalation.triggered", escalation, [update])

    @process_event.register(event_class(Conversation, "HandoffSummarized"))
    def _(self, e: Any, tracking: Tracking) -> None:
        row = self._conversation(e, tracking)
        if row is None or not row["escalation"]:
            return
        summary, link = str(e.personal.get("summary") or ""), self.monitor_url(e.originator_id)
        escalation = row["escalation"]
        body = payloads.slack_escalation(
            str(e.originator_id), escalation, row["visitor"] or {}, row["topic"], row["confidence"], summary, link
        )
        statements = [self._slack(tracking, e, "escalation.triggered", body), self._update(e, summary=summary)]
        if row["zendesk"] is not None:
            groups = row["zendesk"].get("route_groups") or {}
            ticket = payloads.zendesk_ticket(
                "create",
                str(e.originator_id),
                status="open",
                comment=f"{summary}\n\n{payloads.transcript_text(row['transcript'])}\n\nOpen in ChatAssist: {link}",
                subject=f"Escalation: {escalation.get('reason') or escalation.get('rule')}",
                topic=row["topic"],
                channel=row["channel"],
                priority=escalation.get("priority"),
                group_id=groups.get(escalation.get("route") or ""),
                visitor=row["visitor"],
            )
            statements.append(self._zendesk(tracking, e, "escalation.triggered", ticket))
        self.view.apply(tracking, statements)

    @process_event.register(event_class(Conversation, "Resolved"))
    def _(self, e: Any, tracking: Tracking) -> None:
        row = self._conversation(e, tracking)
        topic = row["topic"] if row else None
        slack = payloads.slack_resolution(str(e.originator_id), topic, e.by, None, self.monitor_url(e.originator_id))
        extra = [self._slack(tracking, e, "conversation.resolved", slack)]
        if row is not None and row["zendesk"] is not None:
            transcript = payloads.transcript_text(row["transcript"])
            if row["escalation"]:  # a person's chat: its ticket is solved
                ticket = payloads.zendesk_ticket(
                    "update", str(e.originator_id), status="solved", comment=f"Resolved by {e.by}.\n\n{transcript}"
                )
            else:  # the AI resolved it: a solved ticket with the transcript
                ticket = payloads.zendesk_ticket(
                    "create",
                    str(e.originator_id),
                    status="solved",
                    comment=transcript,
                    subject=f"Resolved by the AI: {topic or 'chat'}",
                    topic=topic,
                    channel=row["channel"],
                    visitor=row["visitor"],
                )
            extra.append(self._zendesk(tracking, e, "conversation.resolved", ticket))
        self._deliver(tracking, e, "conversation.resolved", {"by": e.by, "topic": topic}, extra)

    @process_event.register(event_class(Conversation, "Closed"))
    def _(self, e: Any, tracking: Tracking) -> None:
        row = self._conversation(e, tracking)
        extra: list[Statement] = []
        if row is not None and row["zendesk"] is not None and row["escalation"]:  # its ticket, not a second one
            comment = f"The chat was closed ({e.reason})."
            ticket = payloads.zendesk_ticket("update", str(e.originator_id), status="solved", comment=comment)
            extra.append(self._zendesk(tracking, e, "conversation.closed", ticket))
        visitor = (row or {}).get("visitor") or {}
        if row is not None and visitor.get("email"):  # the CRM: a contact and a note (only where HubSpot is on)
            summary = row["summary"] or f"The visitor wrote: {row['first_message'] or ''}"
            note = payloads.hubspot_note(
                str(e.originator_id), visitor, summary, row["topic"], row["csat"], self.monitor_url(e.originator_id)
            )
            extra.append(self._slack(tracking, e, "conversation.closed", note, kind="hubspot"))
        self._deliver(tracking, e, "conversation.closed", {"reason": e.reason, "by": e.by}, extra)

    @process_event.register(event_class(Conversation, "CsatRated"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._deliver(
            tracking,
            e,
            "csat.rated",
            {"score": e.score, "comment": e.personal.get("comment")},
            [self._update(e, csat=e.score)],
        )

    @process_event.register(event_class(Conversation, "AgentClaimed"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self._deliver(tracking, e, "handoff.claimed", {"agent_id": e.agent_id, "previous": e.previous})

    @process_event.register(event_class(Conversation, "TopicChanged"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, topic=e.topic)])

    @process_event.register(event_class(Conversation, "ExternalTicketRecorded"))
    def _(self, e: Any, tracking: Tracking) -> None:
        if e.system == "zendesk":
            self.view.apply(tracking, [self._update(e, zendesk_ticket=e.ticket_id)])

    # --- handlers: the workspace's integrations -----------------------------------------------------------------

    def _workspace(self, e: Any) -> Any:
        rows = self.view.query(
            f"SELECT workspace_id FROM {TARGETS} WHERE target_id = %(t)s", {"t": f"ws:{e.originator_id}"}
        )
        return rows[0]["workspace_id"] if rows else None

    @process_event.register(event_class(Integrations, "Created"))
    def _(self, e: Any, tracking: Tracking) -> None:
        # the aggregate's workspace, kept as a removed pseudo-target (so later events find it)
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, event_types, enabled, removed, key_id,"
                    " ciphertext) VALUES (%(t)s, %(ws)s, 'workspace', '{}', false, true, '', '')"
                    " ON CONFLICT (target_id) DO NOTHING",
                    {"t": f"ws:{e.originator_id}", "ws": e.workspace_id},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "EndpointAdded"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, url, event_types, key_id, ciphertext,"
                    f" valid_from) SELECT %(t)s, workspace_id, 'webhook', %(url)s, %(types)s, %(kid)s, %(ct)s, %(pos)s"
                    f" FROM {TARGETS}"
                    " WHERE target_id = %(ws)s ON CONFLICT (target_id) DO NOTHING",
                    {
                        "t": e.endpoint_id,
                        "ws": f"ws:{e.originator_id}",
                        "url": e.url,
                        "types": list(e.event_types),
                        "kid": e.key_id,
                        "ct": e.ciphertext,
                        "pos": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register(event_class(Integrations, "EndpointChanged"))
    def _(self, e: Any, tracking: Tracking) -> None:
        values = {k: v for k, v in e.changes.items() if k in ("url", "event_types", "enabled")}
        if "enabled" in values:
            values["disabled_reason"] = None
        if not values:
            return
        values["valid_from"] = tracking.notification_id  # a replay never applies today's settings to older events
        sets = ", ".join(f"{k} = %({k})s" for k in values)
        self.view.apply(
            tracking, [(f"UPDATE {TARGETS} SET {sets} WHERE target_id = %(t)s", {**values, "t": e.endpoint_id})]
        )

    @process_event.register(event_class(Integrations, "EndpointDisabled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET enabled = false, disabled_reason = %(r)s WHERE target_id = %(t)s",
                    {"r": e.reason, "t": e.endpoint_id},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "EndpointRemoved"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [(f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s", {"t": e.endpoint_id})],
        )

    @process_event.register(event_class(Integrations, "SecretRotated"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET previous_key_id = key_id, previous_ciphertext = ciphertext,"
                    " previous_valid_until = %(until)s, key_id = %(kid)s, ciphertext = %(ct)s WHERE target_id = %(t)s"
                    " AND ciphertext IS DISTINCT FROM %(ct)s",  # a replay keeps the previous secret as it was
                    {"until": e.previous_valid_until, "kid": e.key_id, "ct": e.ciphertext, "t": e.endpoint_id},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "TestRequested"))
    def _(self, e: Any, tracking: Tracking) -> None:
        body = payloads.webhook_body(TEST_EVENT_TYPE, e.timestamp, {"test_id": e.test_id, "endpoint_id": e.endpoint_id})
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {DELIVERIES} (id, workspace_id, target_id, kind, event_type, notification_id,"
                    " event_at, body) SELECT md5(%(key)s || ':' || t.target_id)::uuid, t.workspace_id, t.target_id,"
                    f" t.kind, %(type)s, %(pos)s, %(at)s, %(body)s FROM {TARGETS} t WHERE t.target_id = %(t)s"
                    " AND NOT t.removed ON CONFLICT (id) DO NOTHING",
                    {
                        "key": e.test_id,
                        "type": TEST_EVENT_TYPE,
                        "pos": tracking.notification_id,
                        "at": e.timestamp,
                        "body": body,
                        "t": e.endpoint_id,
                    },
                )
            ],
        )

    @process_event.register(event_class(Integrations, "SlackConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, event_types, mode, channel, key_id,"
                    " ciphertext, valid_from) SELECT %(t)s, workspace_id, 'slack', %(types)s, %(mode)s, %(ch)s,"
                    f" %(kid)s, %(ct)s, %(pos)s FROM {TARGETS} WHERE target_id = %(ws)s ON CONFLICT (target_id)"
                    " DO UPDATE SET valid_from = EXCLUDED.valid_from,"
                    " mode = EXCLUDED.mode, channel = EXCLUDED.channel, key_id = EXCLUDED.key_id,"
                    " ciphertext = EXCLUDED.ciphertext, enabled = true, removed = false, disabled_reason = NULL",
                    {
                        "t": f"slack:{e.originator_id}",
                        "ws": f"ws:{e.originator_id}",
                        "types": list(SLACK_EVENT_TYPES),
                        "mode": e.mode,
                        "ch": e.channel,
                        "kid": e.key_id,
                        "ct": e.ciphertext,
                        "pos": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register(event_class(Integrations, "SlackDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s",
                    {"t": f"slack:{e.originator_id}"},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "SlackChannelChosen"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [(f"UPDATE {TARGETS} SET channel = %(ch)s WHERE target_id = %(t)s",
              {"ch": e.channel, "t": f"slack:{e.originator_id}"})],
        )  # fmt: skip

    @process_event.register(event_class(Integrations, "TokenRefreshed"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [(f"UPDATE {TARGETS} SET key_id = %(kid)s, ciphertext = %(ct)s WHERE target_id = %(t)s",
              {"kid": e.key_id, "ct": e.ciphertext, "t": f"{e.system}:{e.originator_id}"})],
        )  # fmt: skip

    @process_event.register(event_class(Integrations, "RedeliveryRequested"))
    def _(self, e: Any, tracking: Tracking) -> None:
        # applied once per request: a replay finds redelivery = this request and leaves the row as it is now
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {DELIVERIES} SET status = 'pending', attempts = 0, next_attempt_at = now(),"
                    " enqueued_at = NULL, lease_until = NULL, lease_token = NULL, redelivery = %(key)s"
                    " WHERE id::text = %(id)s AND status = 'dead' AND redelivery IS DISTINCT FROM %(key)s",
                    {"id": e.delivery_id, "key": _event_key(e)},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "ZendeskConnected"))
    @process_event.register(event_class(Integrations, "ZendeskInstalled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        config = {"subdomain": e.subdomain, "email": getattr(e, "email", None), "base_url": e.base_url,
                  "route_groups": getattr(e, "route_groups", {})}  # fmt: skip
        if type(e).__name__ == "ZendeskInstalled":
            config["oauth"] = True  # a bearer access token (workers/deliver.py)
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, event_types, config, key_id, ciphertext,"
                    " valid_from) SELECT %(t)s, workspace_id, 'zendesk', %(types)s, %(config)s::jsonb, %(kid)s,"
                    f" %(ct)s, %(pos)s FROM {TARGETS} WHERE target_id = %(ws)s ON CONFLICT (target_id) DO UPDATE SET"
                    " valid_from = EXCLUDED.valid_from, config = EXCLUDED.config, key_id = EXCLUDED.key_id,"
                    " ciphertext = EXCLUDED.ciphertext, enabled = true, removed = false, disabled_reason = NULL",
                    {
                        "t": f"zendesk:{e.originator_id}",
                        "ws": f"ws:{e.originator_id}",
                        "types": list(ZENDESK_EVENT_TYPES),
                        "config": json.dumps(config),
                        "kid": e.key_id,
                        "ct": e.ciphertext,
                        "pos": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register(event_class(Integrations, "ZendeskDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s",
                    {"t": f"zendesk:{e.originator_id}"},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "HubSpotConnected"))
    @process_event.register(event_class(Integrations, "HubSpotInstalled"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, event_types, key_id, ciphertext,"
                    " valid_from) SELECT %(t)s, workspace_id, 'hubspot', %(types)s, %(kid)s, %(ct)s, %(pos)s"
                    f" FROM {TARGETS} WHERE target_id = %(ws)s ON CONFLICT (target_id) DO UPDATE SET"
                    " valid_from = EXCLUDED.valid_from, key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext,"
                    " enabled = true, removed = false, disabled_reason = NULL",
                    {
                        "t": f"hubspot:{e.originator_id}",
                        "ws": f"ws:{e.originator_id}",
                        "types": list(HUBSPOT_EVENT_TYPES),
                        "kid": e.key_id,
                        "ct": e.ciphertext,
                        "pos": tracking.notification_id,
                    },
                )
            ],
        )

    @process_event.register(event_class(Integrations, "HubSpotDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s",
                    {"t": f"hubspot:{e.originator_id}"},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "IntercomConnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        # listed for the scheduler's daily token check; never a delivery target (no event type)
        self.view.apply(
            tracking,
            [
                (
                    f"INSERT INTO {TARGETS} (target_id, workspace_id, kind, event_types, enabled, key_id, ciphertext)"
                    f" SELECT %(t)s, workspace_id, 'intercom', '{{}}', false, '', '' FROM {TARGETS}"
                    " WHERE target_id = %(ws)s ON CONFLICT (target_id) DO UPDATE SET removed = false",
                    {"t": f"intercom:{e.originator_id}", "ws": f"ws:{e.originator_id}"},
                )
            ],
        )

    @process_event.register(event_class(Integrations, "IntercomDisconnected"))
    def _(self, e: Any, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [(f"UPDATE {TARGETS} SET removed = true WHERE target_id = %(t)s", {"t": f"intercom:{e.originator_id}"})],
        )

    @process_event.register(event_class(Integrations, "BudgetThresholdReached"))
    def _(self, e: Any, tracking: Tracking) -> None:
        data = {"month": e.month, "percent": e.percent, "tokens_used": e.tokens_used, "monthly_token_budget": e.budget}
        params = {
            "key": _event_key(e),
            "type": "budget.threshold",
            "pos": tracking.notification_id,
            "at": e.timestamp,
            "body": payloads.webhook_body("budget.threshold", e.timestamp, data),
            "kind": "webhook",
            "cid": None,
            "ws": f"ws:{e.originator_id}",
        }
        where = (
            f"t.workspace_id = (SELECT workspace_id FROM {TARGETS} WHERE target_id = %(ws)s)"
            " AND %(type)s = ANY(t.event_types) ON CONFLICT (id) DO NOTHING"
        )
        self.view.apply(tracking, [(_INSERT + where, params)])
