"""The integrations outbox: delivery rows written from the event store, one per (event, target)."""
