"""GetAuditLog: the audit log of the caller's workspace, filtered, paginated and exported."""
