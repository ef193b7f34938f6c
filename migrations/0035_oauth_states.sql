-- OAuth install flows (issue 21): the `state` of each authorization request, bound to the Admin who started it and
-- their workspace, usable once, expiring (commands/integrations/oauth_state.py). Not a view: written by requests.
CREATE TABLE IF NOT EXISTS oauth_states (
    state text PRIMARY KEY,
    provider text NOT NULL,                 -- slack, hubspot, zendesk
    workspace_id uuid NOT NULL,
    account_id uuid NOT NULL,               -- the signed-in Admin who clicked "Add to Slack"
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz                     -- set by the one callback that consumed it
);
CREATE INDEX IF NOT EXISTS oauth_states_expiry ON oauth_states (expires_at);
