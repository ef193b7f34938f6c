-- Crypto-shredding (issue 17 item 5, ADR 0044): one data key per conversation encrypts the `personal` field of its
-- events (commands/personal_data/). Not a disposable view: destroying a key (wrapped_key NULL) is the erasure.
CREATE TABLE IF NOT EXISTS chatassist_personal_keys (
    conversation_id uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    wrapping_kid text NOT NULL,          -- the CHATASSIST_KEYS_ENCRYPTION_KEY id that wraps it; '' when stored unwrapped
    wrapped_key bytea,                   -- NULL once erased: the conversation's personal fields read "[erased]"
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    erasure_id uuid,
    erased_reason text                   -- request | retention
);
CREATE INDEX IF NOT EXISTS chatassist_personal_keys_live ON chatassist_personal_keys (workspace_id, created_at)
    WHERE erased_at IS NULL;
-- Who a conversation belongs to, to find a person's conversations without decrypting every event: a keyed hash
-- (HMAC-SHA-256 under a key derived from the wrapping key) of the visitor's user id or e-mail, never the value.
CREATE TABLE IF NOT EXISTS chatassist_personal_subjects (
    workspace_id uuid NOT NULL,
    subject bytea NOT NULL,
    conversation_id uuid NOT NULL,
    PRIMARY KEY (workspace_id, subject, conversation_id)
);
