-- Workspaces a projection runner parked (projections/_paging.py, docs/adr/0012-park-a-workspace-not-the-view.md):
-- one of their events could not be applied to that view, so the runner recorded it here, in the transaction that
-- moved its tracking position past the event, and skips the workspace's later events for that view while the other
-- workspaces go on. `chatassist projections retry VIEW WORKSPACE` re-applies them from `notification_id` and
-- deletes the row; a rebuild of the view that swaps in deletes its rows too. Not a view: never rebuilt or dropped.
CREATE TABLE IF NOT EXISTS projection_parked (
    projection text NOT NULL,              -- the projection's name (its tracking table's), e.g. transcripts_v2
    scope uuid NOT NULL,                   -- the workspace (an account's events, which have none: the account)
    notification_id bigint NOT NULL,       -- the event that could not be applied: its position in the store
    topic text NOT NULL,
    originator_id uuid NOT NULL,
    originator_version integer NOT NULL,
    error text NOT NULL,                   -- what applying it raised (the last retry's, after a failed retry)
    parked_at timestamptz NOT NULL DEFAULT now(),
    retried_at timestamptz,                -- the last retry that failed
    skipped bigint NOT NULL DEFAULT 0,     -- later events of the scope skipped by the runner since
    last_skipped bigint,                   -- the position of the last one
    PRIMARY KEY (projection, scope)
);
