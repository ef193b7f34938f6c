"""Crypto-shredding at the store (issue 17 item 5, ADR 0044): the mapper seals a conversation's personal fields
under its own key, wrapped by CHATASSIST_KEYS_ENCRYPTION_KEY; a destroyed key reads "[erased]"; a wrapping key no
longer listed is an error, never a silent erasure; conversations started before encryption stay in plain text and
are not claimed erasable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from chatassist.bootstrap import eventsourcing_env
from chatassist.migrate import migrate
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from commands.erase_personal_data import cmd as erase
from commands.provider_keys.cipher import UnknownEncryptionKey, generate_key_spec
from domain.conversation import ERASED, Conversation, ConversationErased
from domain.errors import NotFound
from tests.support.services import throwaway_database

WRAPPING = generate_key_spec("k1")


@pytest.fixture
def store_url(service_urls: tuple[str, str]) -> Iterator[str]:
    with throwaway_database(service_urls[0]) as url:
        migrate(url)
        yield url


def open_app(url: str, spec: str | None = WRAPPING) -> ChatAssistApp:
    settings = Settings(database_url=url, db_pool_size=2, keys_encryption_key=spec)
    return ChatAssistApp(env=eventsourcing_env(settings, url))


def raw(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def a_conversation(app: ChatAssistApp, workspace_id: uuid.UUID, user_id: str, text: str) -> uuid.UUID:
    c = Conversation(workspace_id, "widget", {"user_id": user_id, "email": f"{user_id}@example.org"})
    c.receive("m1", text)
    app.save(c)
    return c.id


def test_sealed_at_rest_wrapped_under_the_key_list_and_erased_by_destroying_the_key(store_url: str) -> None:
    app = open_app(store_url)
    ws = uuid.uuid4()
    cid = a_conversation(app, ws, "u-1", "a private sentence about quokkas")
    states = b"".join(bytes(r[0]) for r in raw(store_url, "SELECT state FROM chatassist_events"))
    assert b"quokkas" not in states and b"u-1@example.org" not in states and b"_sealed_" in states
    (kid, wrapped), *_ = raw(store_url, "SELECT wrapping_kid, wrapped_key FROM chatassist_personal_keys")
    data_key = app.mapper.keys.get(cid).key  # type: ignore[attr-defined]
    assert kid == "k1" and data_key is not None and data_key not in bytes(wrapped)
    other = open_app(store_url)  # another process with the same key list reads it
    assert other.repository.get(cid).turns[0].text == "a private sentence about quokkas"

    # a process whose key list lost k1 refuses to read rather than pretend the data was erased
    lost = open_app(store_url, generate_key_spec("k2"))
    with pytest.raises(UnknownEncryptionKey):
        lost.repository.get(cid)
    lost.close()

    done = erase.execute(app, erase.ErasePersonalData(ws, uuid.uuid4(), email="U-1@Example.org"))
    assert done.conversations == [cid]
    fresh = open_app(store_url)
    fresh.mapper.keys.forget([cid])  # type: ignore[attr-defined]
    conversation = fresh.repository.get(cid)
    assert [t.text for t in conversation.turns] == [ERASED]
    started = next(iter(fresh.events.get(cid)))
    assert started.personal == {"user_id": ERASED, "email": ERASED}
    with pytest.raises(ConversationErased):
        conversation.receive("m2", "more")
    conversation.add_note("agent-1", "n1", "a note after the erasure")
    with pytest.raises(ConversationErased):  # no new personal data under a destroyed key
        fresh.save(conversation)


def test_a_conversation_started_before_encryption_stays_plain_and_is_not_claimed_erased(store_url: str) -> None:
    ws = uuid.uuid4()
    before = open_app(store_url)
    before.mapper.keys = None  # type: ignore[attr-defined]  # the store as it was before this change
    cid = a_conversation(before, ws, "legacy-1", "an old plain sentence")
    app = open_app(store_url)
    conversation = app.repository.get(cid)
    conversation.receive("m2", "a later sentence in the old conversation")
    app.save(conversation)
    states = b"".join(bytes(r[0]) for r in raw(store_url, "SELECT state FROM chatassist_events"))
    assert b"an old plain sentence" in states and b"a later sentence in the old conversation" in states
    assert raw(store_url, "SELECT count(*) FROM chatassist_personal_keys") == [(0,)]
    with pytest.raises(NotFound) as refused:
        erase.execute(app, erase.ErasePersonalData(ws, uuid.uuid4(), user_id="legacy-1"))
    assert refused.value.code == "end_user_not_found" and "before personal data was encrypted" in refused.value.message


def test_keys_rotate_rewraps_every_live_data_key_under_the_new_wrapping_key(store_url: str) -> None:
    # Given conversations stored unwrapped (no key list yet) and under k1
    ws, k2 = uuid.uuid4(), generate_key_spec("k2")
    unwrapped = a_conversation(open_app(store_url, None), ws, "u-plain", "stored before the key list, about wombats")
    app = open_app(store_url)
    wrapped = a_conversation(app, ws, "u-k1", "stored under k1, about numbats")
    # When the key list becomes "k2,k1" and the keys are re-wrapped (as `chatassist keys rotate` does)
    rotated = open_app(store_url, f"{k2},{WRAPPING}")
    assert rotated.mapper.keys.rewrap() == (2, 0)  # type: ignore[attr-defined]
    assert rotated.mapper.keys.rewrap() == (0, 2)  # type: ignore[attr-defined]
    # Then every key is under k2, and a process knowing only k2 reads both conversations
    assert raw(store_url, "SELECT DISTINCT wrapping_kid FROM chatassist_personal_keys") == [("k2",)]
    only_k2 = open_app(store_url, k2)
    assert only_k2.repository.get(unwrapped).turns[0].text == "stored before the key list, about wombats"
    assert only_k2.repository.get(wrapped).turns[0].text == "stored under k1, about numbats"
