"""The per-request session check keeps a copy of each workspace's roles per process: a role change, a removal or a
sign-out made through another web process still applies on the member's very next request, and a change whose
epoch was never announced (a process that died between saving and announcing) applies within the copy's bound."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

import httpx
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands._security import TokenSigner
from commands.application import ChatAssistApp
from commands.remove_member import cmd as remove_member
from tests.conftest import TEST_SECRET_KEY
from tests.support.accounts import Person, invite_and_join, sign_up
from tests.support.server import ThreadedServer
from web.app import create_app
from web.auth import Auth
from web.ratelimit import Limit, RateLimiter, RateLimits

BOUND_S = 0.5


@pytest.fixture
def other_process(container: Container) -> Iterator[httpx.Client]:
    """A second web app with its own event-store client, aggregate cache and copy of the roles (as another
    process would have), on the same PostgreSQL and Redis; its copies of the roles last ``BOUND_S``."""
    assert container.auth is not None
    app = ChatAssistApp(env=container.es_env)
    auth = Auth(
        app,
        TokenSigner(TEST_SECRET_KEY),
        redis.Redis.from_url(container.redis_url),
        redis_url=container.redis_url,
        members_cache_s=BOUND_S,
    )
    server = ThreadedServer(create_app(container.chat, container.transcripts, ready_checks(container), auth=auth))
    server.start()
    with httpx.Client(base_url=server.base_url, timeout=20) as client:
        yield client
    server.stop()
    app.close()


def me(client: httpx.Client, who: Person) -> httpx.Response:
    return client.get("/api/auth/me", headers=who.headers)


def test_role_changes_and_removals_made_elsewhere_apply_on_the_next_request(
    client: httpx.Client, other_process: httpx.Client
) -> None:
    # Given an agent whose requests go to the other process, which therefore holds a copy of the roles
    admin, _ = sign_up(client)
    agent = invite_and_join(client, admin, "agent")
    assert [me(other_process, agent).json()["role"] for _ in range(3)] == ["agent"] * 3
    assert other_process.get("/api/monitor", headers=agent.headers).status_code == 200
    # When the admin, on this process, makes them a viewer
    assert client.patch(
        f"/api/team/members/{agent.account_id}", json={"role": "viewer"}, headers=admin.headers
    ).is_success
    # I expect the other process to apply the new role on the very next request
    assert me(other_process, agent).json()["role"] == "viewer"
    denied = other_process.get("/api/monitor", headers=agent.headers)
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")
    # When the admin removes them
    assert client.delete(f"/api/team/members/{agent.account_id}", headers=admin.headers).status_code == 204
    # I expect the other process to refuse them at once, while the admin is still served there
    gone = me(other_process, agent)
    assert (gone.status_code, gone.json()["code"]) == (401, "not_a_member")
    assert me(other_process, admin).json()["role"] == "admin"


def test_a_sign_out_made_elsewhere_is_refused_while_the_roles_are_cached(
    client: httpx.Client, other_process: httpx.Client, container: Container
) -> None:
    # Given an admin served by the other process
    admin, _ = sign_up(client)
    assert me(other_process, admin).status_code == 200
    # When they sign out on this process
    assert client.post("/api/auth/logout", headers=admin.headers).is_success
    # I expect the other process to refuse the token on the next request
    refused = me(other_process, admin)
    assert (refused.status_code, refused.json()["code"]) == (401, "token_revoked")
    # and likewise once every session of an account is signed out (a password reset)
    again = client.post("/api/auth/login", json={"email": admin.email, "password": "tulip-Harbor-92"}).json()
    headers = {"Authorization": f"Bearer {again['access_token']}"}
    assert other_process.get("/api/auth/me", headers=headers).status_code == 200
    assert container.auth is not None
    container.auth.revoke_all(UUID(admin.account_id))
    revoked = other_process.get("/api/auth/me", headers=headers)
    assert (revoked.status_code, revoked.json()["code"]) == (401, "token_revoked")


def test_a_removal_whose_epoch_was_never_announced_applies_within_the_bound(
    client: httpx.Client, other_process: httpx.Client, container: Container
) -> None:
    # Given an agent served by the other process
    admin, _ = sign_up(client)
    agent = invite_and_join(client, admin, "agent")
    assert me(other_process, agent).status_code == 200
    # When they are removed by a process that saves the event and dies before announcing a new epoch
    command = remove_member.RemoveMember(UUID(admin.workspace_id), UUID(admin.account_id), UUID(agent.account_id))
    remove_member.execute(container.app, command)
    # I expect the other process to refuse them once its copy of the roles is older than the bound
    time.sleep(BOUND_S + 0.1)
    gone = me(other_process, agent)
    assert (gone.status_code, gone.json()["code"]) == (401, "not_a_member")


def on_database(url: str, database: int) -> str:
    """The same Redis server's other database: a TCP URL's path, a unix socket URL's ``db`` query."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(database))]
        # Not urlunsplit: with an empty netloc it writes ``unix:/path``, which redis-py 8.2 refuses.
        return f"unix://{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.mark.parametrize("database", [None, 1], ids=["counted-by-the-session-check", "limiter-on-another-db"])
def test_the_api_limit_holds_whether_the_session_check_counts_it_or_not(
    container: Container, database: int | None
) -> None:
    # Given an API limit of 3 calls a minute, counted on the session check's Redis, or on another Redis database
    # (then the session check cannot count it in its round trip and current_member counts it as before)
    assert container.auth is not None
    url = container.redis_url if database is None else on_database(container.redis_url, database)
    limits = RateLimits(
        RateLimiter(AsyncRedis.from_url(url), prefix=f"test-rl:{uuid.uuid4().hex}"), api_per_user=Limit(3, 60)
    )
    app = create_app(
        container.chat, container.transcripts, ready_checks(container), auth=container.auth, rate_limits=limits
    )
    assert app.state.session_checks.counts_api_calls is (database is None)
    server = ThreadedServer(app).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            admin, _ = sign_up(client)
            # When they make four calls
            codes = [me(client, admin).status_code for _ in range(4)]
            # I expect the fourth refused with 429 and a Retry-After
            assert codes == [200, 200, 200, 429]
            refused = me(client, admin)
            assert refused.json()["code"] == "rate_limited" and 1 <= int(refused.headers["Retry-After"]) <= 60
    finally:
        server.stop()
