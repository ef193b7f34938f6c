-- analytics_v2 (projections/analytics), continued: model calls by UTC hour beside the 15-minute slots (a day of a
-- zone whose midnights fall on whole hours, most zones, is a set of these rows: about 4 times fewer to read), and a
-- covering index so the range queries over conversations (usage, topics, per version and model) are index-only
-- scans instead of reading one heap page per conversation.
CREATE TABLE IF NOT EXISTS analytics_v2_usage_hourly (LIKE analytics_v2_usage_slots INCLUDING ALL);

DROP INDEX IF EXISTS analytics_v2_conversations_ws_started;
CREATE INDEX IF NOT EXISTS analytics_v2_conversations_ws_started_facts
    ON analytics_v2_conversations (workspace_id, started_at)
    INCLUDE (status, resolved, escalations, agent_involved, turns, csat, first_response_ms, cost_usd,
             unknown_cost_calls, topic, prompt_version, ai_provider, ai_model, call_provider, call_model, ai_replies,
             ai_confidence_sum);
