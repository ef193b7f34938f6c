"""GetConversationTrail: the audit-log rows about one conversation (the team's actions on it, its replays)."""
