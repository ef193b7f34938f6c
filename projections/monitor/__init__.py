"""The monitor_v1 read model behind the agents' monitor."""
