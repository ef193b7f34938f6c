"""FastJSONTranscoder: the library's bytes on encode, the library's values and types (or errors) on decode."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, StoredEvent, Transcoding

from commands.application import ChatAssistApp
from commands.transcoder import FastJSONTranscoder
from domain.conversation import Conversation
from tests.support.every_event import differences, domain_event_classes, every_event_aggregates, same

LIBRARY = {"TRANSCODER_TOPIC": "eventsourcing.persistence:JSONTranscoder"}
# Only the apps' mappers are used here, nothing is saved (the store: tests/integration/test_transcoder_store.py)
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def library_app() -> ChatAssistApp:
    return ChatAssistApp(env={**POPO, **LIBRARY})


def fast_app() -> ChatAssistApp:
    return ChatAssistApp(env=POPO)


def new_transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    """The library's transcoder and ours, with the app's registrations."""
    lib, fast = library_app().mapper.transcoder, fast_app().mapper.transcoder
    assert type(lib) is JSONTranscoder and type(fast) is FastJSONTranscoder
    return lib, fast


transcoders = cache(new_transcoders)


def outcome(transcoder: JSONTranscoder, data: Any) -> tuple[str, Any]:
    try:
        return "value", transcoder.decode(data)
    except Exception as err:  # the error is part of the behaviour to match
        return "error", (type(err), str(err))


def assert_decodes_alike(data: Any, pair: tuple[JSONTranscoder, FastJSONTranscoder] | None = None) -> Any:
    """The fast decode gives the library's value (same types, recursively) or raises the library's error."""
    lib, fast = pair or transcoders()
    expected, got = outcome(lib, data), outcome(fast, data)
    assert expected[0] == got[0], (data[:200], expected, got)
    if expected[0] == "error":
        assert got == expected
    else:
        assert same(expected[1], got[1]), differences(expected[1], got[1])
    return expected[1]


def kinds(value: Any) -> set[type[Any]]:
    """The types found in a decoded value, recursively."""
    found = {type(value)}
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        found |= kinds(child)
    return found


# --- the domain's events ---------------------------------------------------------------------------------------


def test_every_domain_event_decodes_to_the_librarys_values_and_types() -> None:
    # Given every domain event class, made through the aggregates' methods and stored by the library's transcoder
    writer = library_app()
    stored = [writer.mapper.to_stored_event(e) for a in every_event_aggregates() for e in a.collect_events()]
    lib, fast = transcoders()
    reader = fast_app()
    seen_types: set[type[Any]] = set()
    for record in stored:
        # When each stored state is decoded by both transcoders and mapped by both apps
        expected, got = lib.decode(record.state), fast.decode(record.state)
        # I expect the same values of the same types, and the same domain events
        assert same(expected, got), (record.topic, differences(expected, got))
        event, expected_event = reader.mapper.to_domain_event(record), writer.mapper.to_domain_event(record)
        assert type(event) is type(expected_event) and same(vars(event), vars(expected_event)), record.topic
        seen_types |= kinds(got)
    assert {record.topic for record in stored} >= {f"{c.__module__}:{c.__qualname__}" for c in domain_event_classes()}
    assert {UUID, Decimal, datetime, dict, list, str, int, float, bool, type(None)} <= seen_types


def test_encode_is_the_librarys_byte_for_byte() -> None:
    assert FastJSONTranscoder.encode is JSONTranscoder.encode
    lib_mapper, fast_mapper = library_app().mapper, fast_app().mapper
    events = [e for aggregate in every_event_aggregates() for e in aggregate.collect_events()]
    assert {type(e) for e in events} == domain_event_classes()
    for e in events:
        assert fast_mapper.to_stored_event(e).state == lib_mapper.to_stored_event(e).state, type(e).__qualname__


def test_the_app_decodes_with_the_fast_transcoder_and_the_environment_can_restore_the_librarys() -> None:
    lib, fast = transcoders()
    assert set(fast.names) == set(lib.names) == {"uuid_hex", "decimal_str", "datetime_iso"}
    prefixed = {**POPO, "CHATASSIST_TRANSCODER_TOPIC": LIBRARY["TRANSCODER_TOPIC"]}
    assert type(ChatAssistApp(env=prefixed).mapper.transcoder) is JSONTranscoder
    assert type(ChatAssistApp(env={**POPO, **LIBRARY}).mapper.transcoder) is JSONTranscoder


@pytest.mark.parametrize("event_class", [Conversation.AssistantReplied, Conversation.Escalated])
def test_events_stored_before_a_class_version_upcast_alike(event_class: type[Any]) -> None:
    # Given a version 1 event as stored before its class gained fields (no class_version in the state)
    lib_app, app = library_app(), fast_app()
    conversation = next(a for a in every_event_aggregates() if isinstance(a, Conversation))
    current = next(e for e in conversation.collect_events() if type(e) is event_class)
    state = lib_app.mapper.transcoder.decode(lib_app.mapper.to_stored_event(current).state)
    del state["class_version"]
    for name in ("assessment", "after_hours", "next_open_at"):
        state.pop(name, None)
    topic = f"{event_class.__module__}:{event_class.__qualname__}"
    old = StoredEvent(current.originator_id, current.originator_version, topic, lib_app.mapper.transcoder.encode(state))
    # When both apps read it, I expect the same upcast event
    expected, got = lib_app.mapper.to_domain_event(old), app.mapper.to_domain_event(old)
    assert type(got) is event_class and same(vars(got), vars(expected)), differences(vars(expected), vars(got))


# --- the edges of JSON and of the object hook ------------------------------------------------------------------

HEX = "8d6a1fba1b9a4f5f9d7f0e5b0b9a3c11"
EDGES = [
    # the transcoder's own shape, and user dicts that only look like it
    b'{"_type_":"uuid_hex","_data_":"%s"}' % HEX.encode(),
    b'{"_data_":"%s","_type_":"uuid_hex"}' % HEX.encode(),
    b'{"_type_":"uuid_hex"}',
    b'{"_type_":"uuid_hex","_data_":"%s","x":1}' % HEX.encode(),
    b'{"_type_":"decimal_str","data":"1.5"}',
    b'{"_type_":"no_such_transcoding","_data_":1}',
    b'{"_type_":7,"_data_":1}',
    b'{"_type_":null,"_data_":1}',
    b'{"_type_":["uuid_hex"],"_data_":"%s"}' % HEX.encode(),
    b'{"_type_":{"_type_":"decimal_str","_data_":"1"},"_data_":1}',
    b'{"_type_":"uuid_hex","_data_":{"_type_":"decimal_str","_data_":"1"}}',
    b'{"_type_":"uuid_hex","_data_":"not hex"}',
    b'{"_type_":"uuid_hex","_data_":5}',
    b'{"_type_":"datetime_iso","_data_":"2026-12-01T10:00:00"}',
    b'{"_type_":"datetime_iso","_data_":"2026-12-01T10:00:00.5-05:30"}',
    b'{"_type_":"datetime_iso","_data_":"yesterday"}',
    b'{"_type_":"decimal_str","_data_":"-0.000"}',
    b'{"_type_":"decimal_str","_data_":"NaN"}',
    b'{"_type_":"decimal_str","_data_":"1E+3"}',
    b'{"_type_":"decimal_str","_data_":"one"}',
    b'{"_type_":"uuid_hex","_data_":"%s","_type_":"decimal_str","_data_":"2"}' % HEX.encode(),
    b'[{"_type_":"decimal_str","_data_":"1"},[{"_type_":"decimal_str","_data_":"2"}],{"a":{"_type_":"decimal_str","_data_":"3"}}]',
    b'{"a":[[[{"_type_":"uuid_hex","_data_":"%s"}]]]}' % HEX.encode(),
    # numbers
    b'{"a":1,"b":1.0,"c":-0.0,"d":-0,"e":1e5,"f":1E-5,"g":0.1,"h":5e-324,"i":1.7976931348623157e308}',
    b'{"big":123456789012345678901234567890,"neg":-123456789012345678901234567890,"u64":18446744073709551616}',
    b"[" + b"9" * 4300 + b"]",
    b"[-" + b"9" * 4300 + b"]",
    b"[" + b"9" * 4301 + b"]",
    b"[1e400,-1e400,1e-400]",
    b'{"x":NaN}',
    b'{"x":Infinity,"y":-Infinity}',
    b"[01]",
    b"[1.]",
    # strings
    '{"t":"Zoë 🙂 日本語 עברית e\u0301 \u2028"}'.encode(),
    b'{"t":"\\u00e9\\ud83d\\ude42\\n\\t\\"\\\\\\/\\u0000"}',
    b'{"t":"\\ud800"}',
    b'{"t":"\\udc00\\ud800"}',
    b'{"t":"\x01"}',
    b'{"t":"\xff"}',
    b'{"t":"\xed\xa0\x80"}',
    b'{"\\u005ftype_":"uuid_hex","_data_":"%s"}' % HEX.encode(),
    # structure
    b'{"a":1,"a":2,"b":3}',
    b'{"z":1,"a":2,"m":{"y":1,"b":2}}',
    b' \t\r\n{ "a" : [ 1 , 2 ] } \n',
    b"\xef\xbb\xbf{}",
    b"{} x",
    b"{",
    b"",
    b"[1,]",
    b"[]",
    b'"just a string"',
    b"42",
    b"null",
    b"[" * 600 + b"]" * 600,
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 300 + b'{"_type_":"decimal_str","_data_":"1"}' + b"}" * 300,
]
UUID_DATA = [  # what a uuid_hex "_data_" might hold; UUIDAsHex.decode is UUID(data), the fast one must agree
    HEX,
    HEX.upper(),
    "0" * 32,
    "f" * 32,
    "g" * 32,
    "\u0661" * 32,  # ARABIC-INDIC DIGIT ONE: int() reads it as 1, and so does UUID()
    "\u00b2" * 32,  # SUPERSCRIPT TWO: a digit to isalnum, not to int()
    "-" + "0" * 31,
    "+" + "0" * 31,
    " " + "0" * 31,
    "0" * 16 + "_" + "0" * 15,
    "{" + HEX[:30] + "}",
    "{" + HEX + "}",
    "urn:uuid:" + HEX,
    str(UUID(HEX)),
    HEX[:31],
    HEX + "0",
    "",
]
EDGES += [b'{"id":{"_type_":"uuid_hex","_data_":"%s"}}' % d.encode() for d in UUID_DATA]
EDGES += [b'{"_type_":"uuid_hex","_data_":%s}' % d for d in (b"5", b"null", b"[]", b"{}", b"1e5")]


@pytest.mark.parametrize("data", EDGES, ids=lambda d: repr(d[:40]))
def test_edge_cases_decode_alike(data: bytes) -> None:
    assert_decodes_alike(data)


def test_inputs_other_than_bytes_are_the_librarys_to_take_or_refuse() -> None:
    data = b'{"a":{"_type_":"decimal_str","_data_":"1.5"}}'
    assert same(assert_decodes_alike(bytearray(data)), {"a": Decimal("1.5")})
    assert_decodes_alike(data.decode())  # the library refuses a str (no .decode): so do we
    assert_decodes_alike(memoryview(data))


def test_a_user_dict_shaped_like_a_transcoding_is_read_as_the_library_reads_it() -> None:
    # Given a value the library's own encoder writes unchanged, since it is a plain dict
    lib, _ = transcoders()
    data = lib.encode({"note": {"_type_": "decimal_str", "_data_": "2.5"}, "other": {"_type_": "x", "y": 1}})
    # I expect the library's (lossy) reading: the first becomes a Decimal, the second stays a dict
    assert same(assert_decodes_alike(data), {"note": Decimal("2.5"), "other": {"_type_": "x", "y": 1}})


# --- random values through the library's encoder ---------------------------------------------------------------


def random_text(rng: random.Random) -> str:
    alphabet = [
        "a",
        "Z",
        "_",
        '"',
        "\\",
        "/",
        "\n",
        "\x00",
        "\x1f",
        "\x7f",
        "é",
        "€",
        "\u2028",
        "日",
        "🙂",
        "\U0010ffff",
    ]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    scalars: list[Any] = [
        lambda: rng.randint(-(2**70), 2**70),
        lambda: rng.randint(-5, 5),
        lambda: rng.choice([0.0, -0.0, 0.1, 1e300, -1e-300, 5e-324, float("nan"), float("inf"), float("-inf")]),
        lambda: rng.uniform(-1e6, 1e6),
        lambda: rng.choice([True, False, None]),
        lambda: random_text(rng),
        lambda: UUID(int=rng.getrandbits(128)),
        lambda: Decimal(rng.randint(-(10**20), 10**20)).scaleb(rng.randint(-30, 5)),
        lambda: (
            datetime(2026, 1, 1, tzinfo=rng.choice([None, UTC, timezone(timedelta(hours=5, minutes=30))]))
            + timedelta(microseconds=rng.randint(0, 10**13))
        ),
    ]
    if depth < 4 and rng.random() < 0.4:
        items = [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        shape = rng.choice(["list", "tuple", "dict", "lookalike"])
        if shape == "list":
            return items
        if shape == "tuple":
            return tuple(items)
        keys = [rng.choice(["_type_", "_data_", "a", "b", random_text(rng)]) for _ in items]
        if shape == "lookalike":
            keys[:2] = ["_type_", "_data_"][: len(keys)]
            items[:1] = [rng.choice(["uuid_hex", "decimal_str", "datetime_iso", "unknown"])][: len(items)]
        return dict(zip(keys, items, strict=True))
    return rng.choice(scalars)()


@pytest.mark.parametrize("seed", range(4))
def test_random_values_decode_alike(seed: int) -> None:
    # Given random nested values (transcoded types, tuples, lookalike dicts, odd floats and text), encoded by the
    # library's encoder as an event's state is
    rng = random.Random(seed)
    lib, fast = transcoders()
    for _ in range(800):
        value = {"state": random_value(rng), "extra": [random_value(rng) for _ in range(3)]}
        try:
            data = lib.encode(value)
        except Exception as err:  # e.g. a lone surrogate: the encoder is the library's, so is the error
            with pytest.raises(type(err)):
                fast.encode(value)
            continue
        # I expect the same decoded values of the same types, or the same error
        assert_decodes_alike(data)


# --- registering a transcoding ---------------------------------------------------------------------------------


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def test_a_transcoding_registered_on_the_app_is_used_by_the_fast_decode() -> None:
    # Given a new transcoding registered on both transcoders after they were made
    lib, fast = new_transcoders()
    for transcoder in (lib, fast):
        transcoder.register(DateAsISO())
    value = {"on": date(2026, 12, 25), "ids": [uuid4()], "nested": {"days": [date(2027, 1, 1)]}}
    data = lib.encode(value)
    assert data == fast.encode(value)
    # I expect the fast decode to revive it as the library does: dates again, not dicts
    assert same(assert_decodes_alike(data, (lib, fast)), value)
