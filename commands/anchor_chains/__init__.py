"""Anchor a workspace's hash chains in the audit log, and check a workspace against its last anchor (ADR 0046)."""
