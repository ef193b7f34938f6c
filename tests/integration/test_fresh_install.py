"""A fresh install creates the tables of today's projections only: no unused ``transcript_v1_*`` / ``analytics_v1_*``
(replaced by ``transcript_v2_*``, ``analytics_v2_*``; docs/operations.md, "Tables no longer used")."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from chatassist.bootstrap import PROJECTIONS, bootstrap
from chatassist.integrations import start_follower
from chatassist.settings import Settings
from tests.support.services import throwaway_database


def test_a_fresh_install_creates_no_table_of_a_replaced_projection(
    service_urls: tuple[str, str], settings: Settings
) -> None:
    # Given an empty database
    with throwaway_database(service_urls[0]) as url:
        # When a process migrates it and starts every projection and the integrations follower (each creates its
        # view's tables)
        container = bootstrap(replace(settings, database_url=url))
        try:
            container.start_projections()
            start_follower(container, None)
            container.wait_for_projections()
        finally:
            container.close()
        with psycopg.connect(url) as conn:
            tables = {
                str(r[0])
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchall()
            }
    # I expect the tables of today's projections, and none of the replaced versions
    assert {"transcript_v2_conversations", "analytics_v2_conversations"} <= tables, sorted(tables)
    assert {f"{projection.name}_tracking" for projection, _ in PROJECTIONS.values()} <= tables, sorted(tables)
    assert not [t for t in tables if t.startswith(("transcript_v1_", "analytics_v1_"))], sorted(tables)
