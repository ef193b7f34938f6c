"""The fast decoder against the real PostgreSQL store: events written with the library's transcoder read alike
with ours, and the other way round, in clear and under the AES cipher (CHATASSIST_EVENT_ENCRYPTION_KEY), and
events encrypted by the pycryptodome AES cipher (older releases) read alike with the `cryptography` one (now)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import Environment, get_topic

from chatassist.bootstrap import EVENT_CIPHER_TOPIC, eventsourcing_env
from chatassist.settings import Settings
from commands.application import ChatAssistApp
from commands.transcoder import FastJSONTranscoder
from tests.support.every_event import differences, domain_event_classes, every_event_aggregates, same
from tests.support.services import throwaway_database

LIBRARY = {"TRANSCODER_TOPIC": "eventsourcing.persistence:JSONTranscoder"}
PYCRYPTODOME = "eventsourcing.cipher:AESCipher"  # what bootstrap configured before the cryptography package's
KEY = AESCipher.create_key(32)


@pytest.fixture(scope="module")
def store_url(service_urls: tuple[str, str]) -> Iterator[str]:
    """A database of its own: this module writes its own events and reads them all back."""
    with throwaway_database(service_urls[0]) as url:
        yield url


def open_app(url: str, *, library: bool, cipher: bool, cipher_topic: str | None = None) -> ChatAssistApp:
    """An app configured as bootstrap configures it, with the library's transcoder or ours."""
    settings = Settings(database_url=url, db_pool_size=1, event_encryption_key=KEY if cipher else None)
    env = {**eventsourcing_env(settings, url), **(LIBRARY if library else {})}
    app = ChatAssistApp(env={**env, **({"CIPHER_TOPIC": cipher_topic} if cipher_topic else {})})
    assert type(app.mapper.transcoder) is (JSONTranscoder if library else FastJSONTranscoder)
    assert (app.mapper.cipher is not None) == cipher
    # the transcoders alone: personal fields in clear (their sealing, with a random nonce, is
    # tests/integration/test_personal_data_sealing.py's)
    app.mapper.keys = None  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize("cipher", [False, True], ids=["clear", "aes"])
@pytest.mark.parametrize("writer_is_library", [True, False], ids=["library-writes", "fast-writes"])
def test_events_written_by_one_transcoder_read_alike_with_the_other(
    store_url: str, writer_is_library: bool, cipher: bool
) -> None:
    # Given every domain event class, made through the aggregates' methods and saved by one app
    writer = open_app(store_url, library=writer_is_library, cipher=cipher)
    start = (writer.recorder.max_notification_id() or 0) + 1
    aggregates = every_event_aggregates()
    events = [e for aggregate in aggregates for e in aggregate.collect_events()]
    writer.save(*events)
    # When fresh apps, one with each transcoder, read the stored records back from PostgreSQL
    lib, fast = open_app(store_url, library=True, cipher=cipher), open_app(store_url, library=False, cipher=cipher)
    try:
        records = fast.recorder.select_notifications(start=start, limit=10_000)
        assert [(r.originator_id, r.originator_version) for r in records] == [
            (e.originator_id, e.originator_version) for e in events
        ]
        assert {type(e) for e in events} == domain_event_classes()
        plain = JSONTranscoder()
        writer.register_transcodings(plain)
        plain_mapper = Mapper[object](transcoder=plain)  # the library's mapping, in clear
        for event, record in zip(events, records, strict=True):
            # I expect the stored bytes to be the library's encoding of the event (decrypted, under the cipher)
            state = (
                record.state if not cipher else AESCipher(Environment(env={"CIPHER_KEY": KEY})).decrypt(record.state)
            )
            assert state == plain_mapper.to_stored_event(event).state, type(event).__qualname__
            # and both apps to decode the same values of the same types, and map the same domain events
            expected, got = lib.mapper.transcoder.decode(state), fast.mapper.transcoder.decode(state)
            assert same(expected, got), differences(expected, got)
            expected_event, got_event = lib.mapper.to_domain_event(record), fast.mapper.to_domain_event(record)
            assert type(got_event) is type(event) is type(expected_event)
            assert same(vars(got_event), vars(expected_event)), differences(vars(expected_event), vars(got_event))
        # and every aggregate to load alike, through the repository (the path of every command)
        for aggregate in aggregates:
            expected_aggregate, got_aggregate = lib.repository.get(aggregate.id), fast.repository.get(aggregate.id)
            assert same(vars(got_aggregate), vars(expected_aggregate)), type(aggregate).__name__
    finally:
        for app in (writer, lib, fast):
            app.close()


@pytest.mark.parametrize(
    ("written_with", "read_with"), [(PYCRYPTODOME, EVENT_CIPHER_TOPIC), (EVENT_CIPHER_TOPIC, PYCRYPTODOME)]
)
def test_events_encrypted_by_either_aes_cipher_read_alike_with_the_other(
    store_url: str, written_with: str, read_with: str
) -> None:
    # Given every domain event class saved encrypted by one AES implementation (the old one, or bootstrap's now)
    writer = open_app(store_url, library=False, cipher=True, cipher_topic=written_with)
    start = (writer.recorder.max_notification_id() or 0) + 1
    aggregates = every_event_aggregates()
    writer.save(*aggregates)
    # When an app with the other one reads them back (and a fresh one with the writer's, for comparison)
    reader = open_app(store_url, library=False, cipher=True, cipher_topic=read_with)
    control = open_app(store_url, library=False, cipher=True, cipher_topic=written_with)
    try:
        assert get_topic(type(reader.mapper.cipher)) == read_with
        assert get_topic(type(control.mapper.cipher)) == written_with
        records = reader.recorder.select_notifications(start=start, limit=10_000)
        assert len(records) == sum(a.version for a in aggregates)
        # I expect the same plaintext, the same domain events and the same aggregates
        for record in records:
            assert reader.mapper.cipher.decrypt(record.state) == control.mapper.cipher.decrypt(record.state)
            assert same(vars(reader.mapper.to_domain_event(record)), vars(control.mapper.to_domain_event(record)))
        for aggregate in aggregates:
            assert same(vars(reader.repository.get(aggregate.id)), vars(control.repository.get(aggregate.id)))
    finally:
        for app in (writer, reader, control):
            app.close()
