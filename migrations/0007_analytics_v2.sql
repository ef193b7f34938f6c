-- Views of the analytics_v2 projection (projections/analytics). Disposable: rebuilt from the event store.
-- v2 adds escalations, agents, the prompt version and model a conversation counts for, model calls in 15-minute
-- slots (so days can be cut in any workspace time zone) and each workspace's time zone and retention.
-- analytics_v1_* (migrations/0002) is no longer read or written; drop it once no older process runs.
CREATE TABLE IF NOT EXISTS analytics_v2_conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    visitor_id text,
    channel text NOT NULL,
    started_at timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    status text NOT NULL,
    resolved boolean NOT NULL DEFAULT false,
    resolved_by text,
    resolved_at timestamptz,
    closed_at timestamptz,
    turns integer NOT NULL DEFAULT 0,
    replies integer NOT NULL DEFAULT 0,
    failed_turns integer NOT NULL DEFAULT 0,
    first_message_id text,
    first_message_us bigint,
    first_response_ms double precision,
    reply_latency_ms_sum double precision NOT NULL DEFAULT 0,
    pending jsonb NOT NULL DEFAULT '{}'::jsonb,
    model_calls integer NOT NULL DEFAULT 0,
    fallbacks integer NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cache_read_tokens bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost_usd numeric(20, 8) NOT NULL DEFAULT 0,
    unknown_cost_calls integer NOT NULL DEFAULT 0,
    last_provider text,
    last_model text,
    last_prompt_version integer,
    topic text,
    confidence_sum double precision NOT NULL DEFAULT 0,
    last_confidence double precision,
    csat smallint,
    -- v2
    escalations integer NOT NULL DEFAULT 0,      -- Escalated events (a person was called in)
    escalated_at timestamptz,                    -- the first of them
    escalation_offers integer NOT NULL DEFAULT 0, -- EscalationOffered (a person offered beside the answer)
    agent_involved boolean NOT NULL DEFAULT false, -- an agent claimed or replied
    prompt_version integer,                      -- of the last reply or model call: the version it counts for
    ai_provider text,                            -- of the last reply a model wrote (not an escalation hold)
    ai_model text,
    call_provider text,                          -- of the last model call (for conversations no model answered)
    call_model text,
    ai_replies integer NOT NULL DEFAULT 0,
    ai_confidence_sum double precision NOT NULL DEFAULT 0,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS analytics_v2_conversations_ws_started
    ON analytics_v2_conversations (workspace_id, started_at);
CREATE INDEX IF NOT EXISTS analytics_v2_conversations_ws_activity
    ON analytics_v2_conversations (workspace_id, last_activity_at DESC);

-- Model calls by workspace, 15-minute slot (UTC instant; every zone offset is a multiple of 15 minutes), provider
-- and model.
CREATE TABLE IF NOT EXISTS analytics_v2_usage_slots (
    workspace_id uuid NOT NULL,
    slot timestamptz NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    calls integer NOT NULL DEFAULT 0,
    first_attempts integer NOT NULL DEFAULT 0,
    ok_calls integer NOT NULL DEFAULT 0,
    fallbacks integer NOT NULL DEFAULT 0,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cache_read_tokens bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost_usd numeric(20, 8) NOT NULL DEFAULT 0,
    unknown_cost_calls integer NOT NULL DEFAULT 0,
    ttft_ms_sum double precision NOT NULL DEFAULT 0,
    ttft_count integer NOT NULL DEFAULT 0,
    latency_ms_sum double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, slot, provider, model)
);

-- Per workspace: the monthly token budget (Workspace events), the time zone and analytics retention (AppSettings,
-- whose aggregate id is settings_id).
CREATE TABLE IF NOT EXISTS analytics_v2_workspaces (
    workspace_id uuid PRIMARY KEY,
    settings_id uuid NOT NULL UNIQUE,
    monthly_token_budget bigint NOT NULL,
    time_zone text NOT NULL DEFAULT 'UTC',
    retention_days integer NOT NULL DEFAULT 365
);
