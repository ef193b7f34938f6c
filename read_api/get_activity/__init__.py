"""GetActivity: the live activity feed."""
