-- Views of the audit_v1 projection (projections/audit). Disposable: rebuilt from the event store.
-- One row per admin-side event and workspace (a password change is one row in each workspace of the account).
CREATE TABLE IF NOT EXISTS audit_v1_log (
    workspace_id uuid NOT NULL,
    position bigint NOT NULL,            -- the event's notification id: the order and the pagination cursor
    occurred_at timestamptz NOT NULL,    -- the event's timestamp
    actor_id uuid,                       -- the account that acted; null when the event names no actor
    kind text NOT NULL,                  -- a stable dotted name, e.g. team.role_changed
    aggregate_id uuid NOT NULL,
    aggregate_version integer NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,  -- non-secret facts only (docs/audit.md)
    PRIMARY KEY (workspace_id, position)
);
CREATE INDEX IF NOT EXISTS audit_v1_log_ws_actor ON audit_v1_log (workspace_id, actor_id, position);
CREATE INDEX IF NOT EXISTS audit_v1_log_ws_kind ON audit_v1_log (workspace_id, kind text_pattern_ops, position);
CREATE INDEX IF NOT EXISTS audit_v1_log_ws_time ON audit_v1_log (workspace_id, occurred_at);

-- The workspace of each per-workspace aggregate (AppSettings, ProviderKeyring, WidgetSecurity, PromptConfig), from
-- its Created event: their later events do not carry the workspace id.
CREATE TABLE IF NOT EXISTS audit_v1_aggregates (
    aggregate_id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL
);

-- Current members and roles (from the team events): the previous role of a change, the workspaces of an account.
CREATE TABLE IF NOT EXISTS audit_v1_members (
    workspace_id uuid NOT NULL,
    account_id uuid NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (workspace_id, account_id)
);
CREATE INDEX IF NOT EXISTS audit_v1_members_account ON audit_v1_members (account_id);
