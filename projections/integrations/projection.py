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
from domain.integrations import SLACK_EVENT_TYPES, TEST_EVENT_TYPE, Integrations
from projections._common import Statement, TrackedView
from projections.integrations import payloads

PREFIX = "integration_v1"
TARGETS, CONVERSATIONS, DELIVERIES, ATTEMPTS = (
    f"{PREFIX}_{t}" for t in ("targets", "conversations", "deliveries", "attempts")
)
log = logging.getLogger("chatassist.integrations")
Enqueue = Callable[[list[tuple[str, str]]], None]  # [(kind, delivery id)]

_INSERT = (
    f"INSERT INTO {DELIVERIES} (id, workspace_id, target_id, kind, event_type, notification_id, event_at, body)"
    " SELECT md5(%(key)s || ':' || t.target_id)::uuid, t.workspace_id, t.target_id, t.kind, %(type)s, %(pos)s,"
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
        redelivered = [e.delivery_id for e, _ in events if isinstance(e, Integrations.RedeliveryRequested)]
        try:
            rows = self.query(
                f"SELECT kind, id::text AS id FROM {DELIVERIES} WHERE (notification_id BETWEEN %(a)s AND %(b)s"
                " AND attempts = 0 OR id::text = ANY(%(ids)s)) AND status = 'pending' ORDER BY notification_id, id",
                {"a": first, "b": last, "ids": redelivered},
            )
            if rows:
                self.enqueue([(str(r["kind"]), str(r["id"])) for r in rows])
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
    topics: ClassVar[tuple[str, ...]] = tuple(
        get_topic(cls)
        for cls in (
            Conversation.Started,
            Conversation.UserMessageReceived,
            Conversation.AssistantReplied,
            Conversation.AgentReplied,
            Conversation.Escalated,
            Conversation.HandoffSummarized,
            Conversation.Resolved,
            Conversation.Closed,
            Conversation.CsatRated,
            Conversation.AgentClaimed,
            Conversation.TopicChanged,
            Integrations.Created,
            Integrations.EndpointAdded,
            Integrations.EndpointChanged,
            Integrations.EndpointDisabled,
            Integrations.EndpointRemoved,
            Integrations.SecretRotated,
            Integrations.TestRequested,
            Integrations.SlackConnected,
            Integrations.SlackDisconnected,
            Integrations.RedeliveryRequested,
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

    def _slack(self, tracking: Tracking, e: Any, event_type: str, body: bytes) -> Statement:
        params = {
            "key": _event_key(e) + ":slack",
            "type": event_type,
            "pos": tracking.notification_id,
            "at": e.timestamp,
            "body": body,
            "kind": "slack",
            "cid": e.originator_id,
        }
        return (_INSERT + FOR_CONVERSATION, params)

    def _conversation(self, e: Any) -> dict[str, Any] | None:
        rows = self.view.query(
            f"SELECT visitor, topic, confidence, escalation FROM {CONVERSATIONS} WHERE id = %(id)s",
            {"id": e.originator_id},
        )
        return rows[0] if rows else None

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

    @process_event.register
    def _(self, e: Conversation.Started, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Conversation.UserMessageReceived, tracking: Tracking) -> None:
        data = {"message_id": e.message_id, "role": "user", "text": e.personal.get("text")}
        self._deliver(tracking, e, "message.created", data)

    @process_event.register
    def _(self, e: Conversation.AssistantReplied, tracking: Tracking) -> None:
        data = {
            "message_id": e.message_id,
            "role": "assistant",
            "text": e.personal.get("text"),
            "reply_to": e.reply_to,
            "confidence": e.confidence,
            "topic": e.topic,
        }
        self._deliver(tracking, e, "message.created", data, [self._update(e, topic=e.topic, confidence=e.confidence)])

    @process_event.register
    def _(self, e: Conversation.AgentReplied, tracking: Tracking) -> None:
        data = {"message_id": e.message_id, "role": "agent", "text": e.personal.get("text"), "agent_id": e.agent_id}
        self._deliver(tracking, e, "message.created", data)

    @process_event.register
    def _(self, e: Conversation.Escalated, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Conversation.HandoffSummarized, tracking: Tracking) -> None:
        row = self._conversation(e)
        if row is None or not row["escalation"]:
            return
        body = payloads.slack_escalation(
            str(e.originator_id),
            row["escalation"],
            row["visitor"] or {},
            row["topic"],
            row["confidence"],
            str(e.personal.get("summary") or ""),
            self.monitor_url(e.originator_id),
        )
        self.view.apply(tracking, [self._slack(tracking, e, "escalation.triggered", body)])

    @process_event.register
    def _(self, e: Conversation.Resolved, tracking: Tracking) -> None:
        row = self._conversation(e)
        topic = row["topic"] if row else None
        slack = payloads.slack_resolution(str(e.originator_id), topic, e.by, None, self.monitor_url(e.originator_id))
        self._deliver(
            tracking,
            e,
            "conversation.resolved",
            {"by": e.by, "topic": topic},
            [self._slack(tracking, e, "conversation.resolved", slack)],
        )

    @process_event.register
    def _(self, e: Conversation.Closed, tracking: Tracking) -> None:
        self._deliver(tracking, e, "conversation.closed", {"reason": e.reason, "by": e.by})

    @process_event.register
    def _(self, e: Conversation.CsatRated, tracking: Tracking) -> None:
        self._deliver(tracking, e, "csat.rated", {"score": e.score, "comment": e.personal.get("comment")})

    @process_event.register
    def _(self, e: Conversation.AgentClaimed, tracking: Tracking) -> None:
        self._deliver(tracking, e, "handoff.claimed", {"agent_id": e.agent_id, "previous": e.previous})

    @process_event.register
    def _(self, e: Conversation.TopicChanged, tracking: Tracking) -> None:
        self.view.apply(tracking, [self._update(e, topic=e.topic)])

    # --- handlers: the workspace's integrations -----------------------------------------------------------------

    def _workspace(self, e: Any) -> Any:
        rows = self.view.query(
            f"SELECT workspace_id FROM {TARGETS} WHERE target_id = %(t)s", {"t": f"ws:{e.originator_id}"}
        )
        return rows[0]["workspace_id"] if rows else None

    @process_event.register
    def _(self, e: Integrations.Created, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.EndpointAdded, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.EndpointChanged, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.EndpointDisabled, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET enabled = false, disabled_reason = %(r)s WHERE target_id = %(t)s",
                    {"r": e.reason, "t": e.endpoint_id},
                )
            ],
        )

    @process_event.register
    def _(self, e: Integrations.EndpointRemoved, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [(f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s", {"t": e.endpoint_id})],
        )

    @process_event.register
    def _(self, e: Integrations.SecretRotated, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.TestRequested, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.SlackConnected, tracking: Tracking) -> None:
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

    @process_event.register
    def _(self, e: Integrations.SlackDisconnected, tracking: Tracking) -> None:
        self.view.apply(
            tracking,
            [
                (
                    f"UPDATE {TARGETS} SET removed = true, enabled = false WHERE target_id = %(t)s",
                    {"t": f"slack:{e.originator_id}"},
                )
            ],
        )

    @process_event.register
    def _(self, e: Integrations.RedeliveryRequested, tracking: Tracking) -> None:
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
