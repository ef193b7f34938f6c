"""GetMonitor: the agents' monitor (active, queue, escalations, closed) and its live stream."""
