"""GetTopics: topics and CSAT over a date range."""
