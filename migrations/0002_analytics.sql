-- Views of the analytics_v1 projection (projections/analytics). Disposable: rebuilt from the event store.
-- One row per conversation with the facts the dashboards aggregate.
CREATE TABLE IF NOT EXISTS analytics_v1_conversations (
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
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS analytics_v1_conversations_ws_started
    ON analytics_v1_conversations (workspace_id, started_at);
CREATE INDEX IF NOT EXISTS analytics_v1_conversations_ws_activity
    ON analytics_v1_conversations (workspace_id, last_activity_at DESC);

-- Model calls by workspace, UTC day, provider and model (cost and tokens by the day the call was made).
CREATE TABLE IF NOT EXISTS analytics_v1_usage_daily (
    workspace_id uuid NOT NULL,
    day date NOT NULL,
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
    PRIMARY KEY (workspace_id, day, provider, model)
);

-- The monthly token budget of each workspace, from Workspace.Created / SettingsChanged.
CREATE TABLE IF NOT EXISTS analytics_v1_workspaces (
    workspace_id uuid PRIMARY KEY,
    monthly_token_budget bigint NOT NULL
);
