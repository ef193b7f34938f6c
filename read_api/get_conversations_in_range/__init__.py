"""The conversations of a workspace active in a date range, for the audit export of a range (docs/audit.md)."""
