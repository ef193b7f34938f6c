-- OAuth install flows with PKCE (issue 21, Zendesk): the code verifier of the authorization request and what the
-- callback needs to finish it (the Zendesk subdomain and host), kept with its single-use state (ADR 0043).
ALTER TABLE oauth_states ADD COLUMN IF NOT EXISTS code_verifier text;
ALTER TABLE oauth_states ADD COLUMN IF NOT EXISTS detail jsonb NOT NULL DEFAULT '{}'::jsonb;
