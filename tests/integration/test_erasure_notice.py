"""An erasure reaches every process's key cache at once (ADR 0052): the erasing process NOTIFYs in the erasure's
transaction, and another process, hearing it through its runners' session, drops the key, though its cache would
have kept it an hour."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from chatassist.migrate import migrate
from commands.erase_personal_data import cmd as erase
from domain.conversation import ERASED
from tests.integration.test_personal_data_sealing import WRAPPING, a_conversation, open_app
from tests.support.services import throwaway_database


@pytest.fixture
def store_url(service_urls: tuple[str, str]) -> Iterator[str]:
    with throwaway_database(service_urls[0]) as url:
        migrate(url)
        yield url


def test_another_process_stops_reading_an_erased_conversation_at_once(
    store_url: str, service_urls: tuple[str, str]
) -> None:
    # Given a sealed conversation, read by another process that holds its key in a cache it would keep an hour
    app = open_app(store_url)
    ws = uuid.uuid4()
    cid = a_conversation(app, ws, "u-notice", "a sentence about pangolins")
    other = subprocess.Popen(
        [sys.executable, "-m", "tests.support.erasure_reader", store_url, service_urls[1], WRAPPING, str(cid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CHATASSIST_LOG_LEVEL": "WARNING"},
    )
    assert other.stdin is not None and other.stdout is not None
    try:
        assert other.stdout.readline().strip() == "listening"
        assert other.stdout.readline().strip() == "read u-notice"
        other.stdin.write("read\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "read u-notice 1"  # from its cache
        # When this process erases the person's data
        erase.execute(app, erase.ErasePersonalData(ws, uuid.uuid4(), user_id="u-notice"))
        # Then the other process no longer decrypts it: its cache dropped the key on the notice (a notice is
        # delivered as the erasure commits; the few milliseconds it travels are waited for, never the hour)
        answers = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            other.stdin.write("read\n")
            other.stdin.flush()
            answers.append(other.stdout.readline().strip())
            if answers[-1].startswith(f"read {ERASED} "):
                break
            time.sleep(0.01)
        # (its key was cached for the hour until the notice; whether the notice landed just before that read's
        # look at the cache or during it, the read that follows finds the key destroyed)
        assert answers[-1].startswith(f"read {ERASED} "), answers
        assert all(a == "read u-notice 1" for a in answers[:-1]), answers
    finally:
        if other.stdin:
            other.stdin.close()
        try:
            other.wait(30)
        except subprocess.TimeoutExpired:
            other.kill()
            other.wait()
        app.close()
