-- Views of the monitor_v1 projection (projections/monitor). Disposable: rebuilt from the event store.
-- One row per conversation: what an agent's monitor shows. visitor_id and last_message are personal data (like the
-- transcript view); see docs/monitor.md.
CREATE TABLE IF NOT EXISTS monitor_v1_conversations (
    id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    visitor_id text,
    channel text NOT NULL,
    handler text NOT NULL,               -- domain/handoff.py: ai, queued, assigned, agent
    status text NOT NULL,                -- open, resolved, closed
    returned boolean NOT NULL DEFAULT false,  -- an agent handed it back to the AI
    -- the one state name of domain.handoff.state_of (a test checks the two agree)
    state text GENERATED ALWAYS AS (
        CASE WHEN status IN ('closed', 'resolved') THEN status
             WHEN handler = 'ai' AND returned THEN 'returned_to_ai'
             ELSE handler END
    ) STORED,
    topic text,
    confidence double precision,         -- of the last AI answer (holding messages of an escalation excluded)
    turns integer NOT NULL DEFAULT 0,    -- visitor messages
    notes integer NOT NULL DEFAULT 0,    -- internal notes of agents
    started_at timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    escalated_at timestamptz,            -- start of the current escalation (null: never escalated)
    queued_at timestamptz,               -- waiting for a person since (null: not in a queue)
    claimed_at timestamptz,
    priority smallint,                   -- of the last escalation: 1 most urgent
    rule text,
    reason text,
    route text,                          -- the team
    offer_rule text,                     -- the last rule that offered a person beside an answer
    assignee text,                       -- the agent's account id
    last_message text,                   -- preview of the last visitor-visible message (personal data)
    last_message_by text,                -- visitor, assistant or agent
    last_message_at timestamptz,
    csat smallint,
    closed_at timestamptz,
    closed_reason text,
    version integer NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_v1_conversations_active
    ON monitor_v1_conversations (workspace_id, last_activity_at DESC, id DESC) WHERE state NOT IN ('resolved', 'closed');
CREATE INDEX IF NOT EXISTS monitor_v1_conversations_finished
    ON monitor_v1_conversations (workspace_id, last_activity_at DESC, id DESC) WHERE state IN ('resolved', 'closed');
CREATE INDEX IF NOT EXISTS monitor_v1_conversations_queue
    ON monitor_v1_conversations (workspace_id, (coalesce(priority, 99)), queued_at, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS monitor_v1_conversations_escalations
    ON monitor_v1_conversations (workspace_id, (coalesce(priority, 99)), escalated_at, id)
    WHERE escalated_at IS NOT NULL AND state <> 'closed';
