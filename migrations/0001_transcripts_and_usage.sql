-- Views of the transcript and usage projections. Disposable: rebuilt from the event store.
CREATE TABLE IF NOT EXISTS transcript_v1_conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    channel text NOT NULL,
    end_user_id text,
    end_user_email text,
    end_user_name text,
    status text NOT NULL,
    topic text,
    last_confidence double precision,
    csat smallint,
    resolved_by text,
    closed_reason text,
    turns integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS transcript_v1_conversations_ws_activity
    ON transcript_v1_conversations (workspace_id, last_activity_at DESC);
CREATE INDEX IF NOT EXISTS transcript_v1_conversations_open_activity
    ON transcript_v1_conversations (last_activity_at) WHERE status <> 'closed';

CREATE TABLE IF NOT EXISTS transcript_v1_messages (
    conversation_id uuid NOT NULL,
    seq integer NOT NULL,
    role text NOT NULL,
    message_id text,
    reply_to text,
    text text,
    provider text,
    model text,
    confidence double precision,
    topic text,
    prompt_version integer,
    error_code text,
    at timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE IF NOT EXISTS usage_v1_monthly (
    workspace_id uuid NOT NULL,
    month date NOT NULL,
    input_tokens bigint NOT NULL DEFAULT 0,
    output_tokens bigint NOT NULL DEFAULT 0,
    cache_read_tokens bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    cost_usd numeric(20, 8) NOT NULL DEFAULT 0,
    unknown_cost_calls integer NOT NULL DEFAULT 0,
    calls integer NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, month)
);
