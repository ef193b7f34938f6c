-- transcripts_v2 (projections/transcripts): v1 plus who handles the chat (handler: ai, queued, assigned, agent; the
-- assignee) and agent replies (role 'agent' with the name the visitor saw). A new version, rebuilt from the event
-- store by its runner from position 0, rather than new columns on v1 whose existing rows would be wrong.
-- The v1 tables are left for processes still running the previous release; drop them once none does.
CREATE TABLE IF NOT EXISTS transcript_v2_conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    channel text NOT NULL,
    end_user_id text,
    end_user_email text,
    end_user_name text,
    status text NOT NULL,
    handler text NOT NULL DEFAULT 'ai',
    assignee text,
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
CREATE INDEX IF NOT EXISTS transcript_v2_conversations_ws_activity
    ON transcript_v2_conversations (workspace_id, last_activity_at DESC);
CREATE INDEX IF NOT EXISTS transcript_v2_conversations_open_activity
    ON transcript_v2_conversations (last_activity_at) WHERE status <> 'closed';

CREATE TABLE IF NOT EXISTS transcript_v2_messages (
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
    agent_name text,
    at timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
