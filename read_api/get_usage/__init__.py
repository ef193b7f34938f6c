"""GetUsage: usage and cost analytics over a date range."""
