"""Pure domain model of ChatAssist: aggregates, value objects, policies. No I/O."""
