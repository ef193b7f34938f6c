-- Email (issue 15, team screen): invitation and password-reset emails waiting to be sent through SMTP. A web request
-- writes a row (commands/_mail.py); the mail sender of `chatassist worker` (workers/mail.py) claims, sends and records
-- it. Not a disposable view: the message body (it holds the link's token) is cleared once the row is sent or given up.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id uuid PRIMARY KEY,
    kind text NOT NULL,                                  -- invite | password_reset
    workspace_id uuid,
    recipient text NOT NULL,
    subject text NOT NULL,
    body_text text,                                      -- NULL once sent or given up
    status text NOT NULL DEFAULT 'pending',              -- pending | sending | sent | failed
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    expires_at timestamptz NOT NULL,                     -- the link's expiry: a later send would be useless
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    last_error text
);
CREATE INDEX IF NOT EXISTS mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status IN ('pending', 'sending');
