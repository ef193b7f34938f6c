"""Run a prompt draft or version in the sandbox."""
