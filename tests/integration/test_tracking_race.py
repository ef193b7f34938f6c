"""Projection views on an empty database: several processes may create a view's tracking table at the same moment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from chatassist.bootstrap import SMALL_POOL, eventsourcing_env
from chatassist.settings import Settings
from projections.usage.projection import UsageProjection, UsageView
from tests.support.at_once import at_once
from tests.support.services import throwaway_database


@pytest.fixture
def empty_url(service_urls: tuple[str, str]) -> Iterator[str]:
    with throwaway_database(service_urls[0]) as url:
        yield url


def test_views_started_at_the_same_moment_each_create_or_find_the_tracking_table(empty_url: str) -> None:
    # Given 6 replicas of the usage view starting at once on a database without its tracking table
    settings = Settings(database_url=empty_url)
    env = Environment(UsageProjection.name, {**eventsourcing_env(settings, empty_url), **SMALL_POOL})
    views, errors = at_once(6, lambda: InfrastructureFactory.construct(env=env).tracking_recorder(UsageView))
    try:
        # I expect every one started, one tracking table with its one migration row, and positions recorded
        assert errors == []
        with psycopg.connect(empty_url) as conn:
            rows: list[Any] = conn.execute("SELECT application_name, notification_id FROM usage_v1_tracking").fetchall()
        assert rows == [("__migration__", 1)]
    finally:
        for view in views:
            view.datastore.close()
