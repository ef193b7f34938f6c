"""GetPerformance: figures per prompt version and per model."""
