"""Audit replay of a conversation from its own events (issue 17): never from a projection."""
