-- Views of the transcript and usage projections. Disposable: rebuilt from the event store.
-- The transcript_v1_* tables that this migration created until issue 12 are no longer made on a fresh install: the
-- transcripts_v2 projection (0004) replaced them. An older install keeps them until its operator drops them
-- (docs/operations.md, "Tables no longer used").

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
