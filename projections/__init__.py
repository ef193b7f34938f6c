"""Read models: one folder per view, each an eventsourcing Projection writing rows and tracking together."""
