"""What the OAuth install tests share (Slack, HubSpot, Zendesk on the real PostgreSQL, each provider a local fake
speaking its OAuth endpoints, tests/fakes/receivers.py): the fake run for a module, the state store's pool, the
Admin's browser on the fake consent page, a new workspace and its stored integrations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import httpx
from psycopg_pool import ConnectionPool

from chatassist.bootstrap import Container
from commands._lazy import get_or_none
from commands.create_workspace import cmd as create_ws
from domain.integrations import Integrations, integrations_id

PUBLIC_URL = "https://chat.acme.test"  # the installation's public URL, which callback URLs are built from


class Startable(Protocol):
    def start(self) -> object: ...

    def stop(self) -> object: ...


Fake = TypeVar("Fake", bound=Startable)


@contextmanager
def running(fake: Fake) -> Iterator[Fake]:
    """The fake provider serving on loopback for the block."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@contextmanager
def state_pool(container: Container) -> Iterator[ConnectionPool]:
    """A small pool for the OAuth state stores."""
    with ConnectionPool(container.database_url, min_size=1, max_size=2, open=True) as pool:
        yield pool


def consent(url: str, callback: str) -> dict[str, str]:
    """The Admin's browser on the provider's consent page (``url``): it must send them back to ``callback``; returns
    the query it sends back with (state, code or error)."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.scheme + "://" + back.netloc + back.path == callback
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def new_workspace(container: Container, prefix: str) -> UUID:
    """A new workspace named ``prefix`` and a random suffix."""
    return create_ws.execute(container.app, create_ws.CreateWorkspace(f"{prefix} {uuid.uuid4().hex[:6]}")).workspace_id


def integrations_of(container: Container, ws: UUID) -> Integrations | None:
    """The workspace's stored integrations (None before anything was connected)."""
    return get_or_none(container.app, integrations_id(ws), Integrations)
