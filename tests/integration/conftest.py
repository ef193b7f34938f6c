"""Fixtures shared by the integration tests (a module's own fixture of the same name wins)."""

from __future__ import annotations

from tests.support.chain_store import store_url

__all__ = ["store_url"]
