-- Storage used per workspace (read_api/get_storage_used, ADR 0058): a running total of the stored bytes of the events
-- of each workspace's conversations, folded from a position in the store, so the settings page no longer sums every
-- event of the store on each view (654 ms on 1,000,000 events). Rebuild: empty both tables' rows and set the position
-- to 0 (the next read folds the whole store once); `read_api.get_storage_used.query.recount` does it.
CREATE TABLE IF NOT EXISTS storage_used_v1 (
    workspace_id uuid PRIMARY KEY,
    bytes bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS storage_used_v1_position (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    notification_id bigint NOT NULL DEFAULT 0
);
INSERT INTO storage_used_v1_position (one, notification_id) VALUES (true, 0) ON CONFLICT DO NOTHING;
