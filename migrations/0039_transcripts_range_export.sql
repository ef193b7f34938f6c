-- The audit export of a date range (issue 17, docs/audit.md) pages a workspace's conversations by start, oldest
-- first: read_api/get_conversations_in_range.
CREATE INDEX IF NOT EXISTS transcript_v2_conversations_ws_started
    ON transcript_v2_conversations (workspace_id, started_at, id);
