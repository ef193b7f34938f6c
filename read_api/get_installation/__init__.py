"""GetInstallation: the figures this installation can honestly show on its landing page."""
