"""Use cases: one folder per command, the eventsourcing Application, AI orchestration."""
