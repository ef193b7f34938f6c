"""Sign-in and sign-up throttles keyed on the caller's address (issue 23, part 5): an attacker cannot lock the owner
out from elsewhere, spraying many emails from one address is stopped, guesses slow down before the lock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
import redis

from chatassist.bootstrap import Container
from chatassist.cli import ready_checks
from commands._security import TokenSigner
from tests.conftest import TEST_SECRET_KEY
from tests.support.accounts import PASSWORD, sign_up, unique_email
from tests.support.server import ThreadedServer
from web.app import create_app
from web.auth import Auth

Client = Callable[[str], httpx.Client]


@pytest.fixture
def from_address(container: Container) -> Iterator[Client]:
    """Clients of one app (5 failures per email and address, 8 per address, 3 sign-ups per address), each from a
    loopback address of its own (127.0.0.x), with counters of this test's own."""
    auth = Auth(
        container.app,
        TokenSigner(TEST_SECRET_KEY),
        redis.Redis.from_url(container.redis_url),
        redis_url=container.redis_url,
        prefix=f"test-auth:{uuid.uuid4().hex}",
        max_address_failures=8,
        signups_per_address=(3, 3600),
    )
    server = ThreadedServer(create_app(container.chat, container.transcripts, ready_checks(container), auth=auth))
    server.start()
    with ExitStack() as clients:

        def client(address: str) -> httpx.Client:
            transport = httpx.HTTPTransport(local_address=address)
            return clients.enter_context(httpx.Client(base_url=server.base_url, transport=transport, timeout=30))

        yield client
    server.stop()


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(from_address: Client) -> None:
    attacker, owner = from_address("127.0.0.2"), from_address("127.0.0.3")
    victim, _ = sign_up(owner)
    # Given five wrong passwords for the owner's email from the attacker's address
    assert [login(attacker, victim.email, "Wrong-guess-1").status_code for _ in range(5)] == [401] * 5
    # I expect the attacker's address locked for that email, even with the right password
    locked = login(attacker, victim.email, PASSWORD)
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert 1 <= int(locked.headers["Retry-After"]) <= 15 * 60
    # and the owner, from their own address, still signed in by the right password
    assert login(owner, victim.email, PASSWORD).status_code == 200


def test_spraying_many_emails_from_one_address_is_stopped(from_address: Client) -> None:
    sprayer, elsewhere = from_address("127.0.0.4"), from_address("127.0.0.5")
    real, _ = sign_up(elsewhere)
    # Given eight failed sign-ins from one address, each for a different email
    for _ in range(8):
        assert login(sprayer, unique_email("sprayed"), "Common-password-1").status_code == 401
    # When it tries a ninth email, even a real one with its right password
    refused = login(sprayer, real.email, PASSWORD)
    # I expect the address refused, naming it, while the same account signs in from elsewhere
    assert refused.status_code == 429 and "network address" in refused.json()["message"]
    assert login(elsewhere, real.email, PASSWORD).status_code == 200


def test_failed_answers_slow_down_before_the_lock(from_address: Client) -> None:
    guesser = from_address("127.0.0.6")
    email = unique_email("slow")
    # Given two quick failures
    assert [login(guesser, email, "Wrong-guess-1").status_code for _ in range(2)] == [401, 401]
    # When it guesses a third and a fourth time
    timings = []
    for _ in range(2):
        began = time.monotonic()
        assert login(guesser, email, "Wrong-guess-1").status_code == 401
        timings.append(time.monotonic() - began)
    # I expect each answer held longer than the one before (0.5 s, then 1 s at least)
    assert timings[0] >= 0.5 and timings[1] >= 1.0, timings


def test_sign_ups_from_one_address_are_throttled(from_address: Client) -> None:
    busy, other = from_address("127.0.0.7"), from_address("127.0.0.8")
    for _ in range(3):
        sign_up(busy)
    refused = busy.post(
        "/api/auth/signup",
        json={"email": unique_email(), "password": PASSWORD, "name": "Eve", "workspace_name": "Spam"},
    )
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_signups"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    sign_up(other)  # another address is not affected
