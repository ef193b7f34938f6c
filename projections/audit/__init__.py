"""The audit_v1 read model: who did what and when, per workspace."""
