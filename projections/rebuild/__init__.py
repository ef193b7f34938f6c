"""Rebuilding projections from the event store into new tables, and swapping them in (core.py; shares.py for
several CPUs; progress.py for the operator). The CLI wires it: ``chatassist projections rebuild``."""
