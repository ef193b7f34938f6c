"""RecordAuditAccess: a replay, request rebuild or export of a conversation is itself in the audit log."""
