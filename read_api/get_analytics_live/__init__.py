"""GetAnalyticsLive: the dashboards' figures pushed over SSE as the analytics projection changes them."""
