"""GetOverview: the overview dashboard."""
