-- Integrations (issue 13): the outbox written by the integrations follower (projections/integrations/) and updated by
-- the delivery actors (workers/deliver.py). Not a disposable view: delivery state lives here and only here.
CREATE TABLE IF NOT EXISTS integration_v1_targets (
    target_id text PRIMARY KEY,             -- a webhook endpoint id, or 'slack:<workspace id>'
    workspace_id uuid NOT NULL,
    kind text NOT NULL,                     -- webhook | slack
    url text,                               -- a webhook's URL (Slack's URL or token is the secret)
    event_types text[] NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    removed boolean NOT NULL DEFAULT false,
    mode text,                              -- slack: webhook | bot
    channel text,                           -- slack bot: the channel
    config jsonb NOT NULL DEFAULT '{}',     -- zendesk: subdomain, email, base_url, route_groups
    key_id text NOT NULL,                   -- the secret, encrypted with the keys vault (never in clear)
    ciphertext text NOT NULL,
    previous_key_id text,                   -- a rotated webhook secret, still signing until previous_valid_until
    previous_ciphertext text,
    previous_valid_until timestamptz,
    disabled_reason text,
    valid_from bigint NOT NULL DEFAULT 0    -- position of its last configuration: only later events are delivered
);
CREATE INDEX IF NOT EXISTS integration_v1_targets_ws ON integration_v1_targets (workspace_id);

CREATE TABLE IF NOT EXISTS integration_v1_conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    channel text,
    visitor jsonb NOT NULL DEFAULT '{}',
    topic text,
    confidence real,
    escalation jsonb,
    started_at timestamptz,
    csat integer,
    summary text,                           -- the last handoff summary
    first_message text,                     -- the visitor's first message (a summary when there is no handoff)
    transcript jsonb,                       -- kept only while the workspace has Zendesk connected
    zendesk_ticket text                     -- the Zendesk ticket opened for it (ExternalTicketRecorded)
);

CREATE TABLE IF NOT EXISTS integration_v1_deliveries (
    id uuid PRIMARY KEY,                    -- md5(event key || ':' || target id): the same on a replay
    workspace_id uuid NOT NULL,
    target_id text NOT NULL,
    kind text NOT NULL,
    event_type text NOT NULL,
    conversation_id uuid,                   -- the conversation of the event, if any
    notification_id bigint NOT NULL,        -- the event's position in the store
    event_at timestamptz NOT NULL,          -- when the event was recorded
    created_at timestamptz NOT NULL DEFAULT now(),
    body bytea NOT NULL,                    -- the exact bytes sent (and signed) on every attempt
    status text NOT NULL DEFAULT 'pending', -- pending | delivering | delivered | failed | dead
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz,                -- when the sweep (or a retry) last sent its message
    lease_until timestamptz,
    lease_token uuid,
    delivered_at timestamptz,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    redelivery text,                        -- the last redelivery request applied (a replay does not apply it twice)
    external_ref text                       -- what the vendor created (a Zendesk ticket id)
);
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_conversation
    ON integration_v1_deliveries (conversation_id, target_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_position ON integration_v1_deliveries (notification_id);
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_ws ON integration_v1_deliveries (workspace_id, created_at DESC);
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_ws_status
    ON integration_v1_deliveries (workspace_id, status, created_at DESC);
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_due
    ON integration_v1_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS integration_v1_deliveries_leased
    ON integration_v1_deliveries (lease_until) WHERE status = 'delivering';

CREATE TABLE IF NOT EXISTS integration_v1_attempts (
    delivery_id uuid NOT NULL,
    attempt integer NOT NULL,
    at timestamptz NOT NULL,
    status_code integer,                    -- null: no answer (timeout, connection refused)
    latency_ms real NOT NULL,
    outcome text NOT NULL,                  -- delivered | retry | failed | dead
    excerpt text,                           -- the first 500 characters of the answer, or the error
    PRIMARY KEY (delivery_id, attempt)
);
