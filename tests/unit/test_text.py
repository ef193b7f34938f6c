"""Which texts a view can store (domain/text.py), and an event made storable (projections/_parking.py)."""

from __future__ import annotations

import uuid

import pytest

from domain.conversation import Conversation
from domain.text import REPLACEMENT, find_unstorable, storable, unstorable
from projections._parking import storable_event


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ({"message": "hi", "user": {"id": "v"}}, None),
        ({"message": "hi \x00"}, ("message", "\x00")),
        ({"user": {"id": "v", "name": "A\x00"}}, ("user.name", "\x00")),
        ({"items": [{"text": "ok"}, {"text": "x\ud800"}]}, ("items[1].text", "\ud800")),
        ({"k\x00": 1}, ("k\x00", "\x00")),
        (["a", "b\udfff"], ("[1]", "\udfff")),
        ("plain \x00", ("", "\x00")),
        ({"n": 1, "b": True, "z": None, "f": 1.5}, None),
        ({"emoji": "😀 é \u2028"}, None),
    ],
)
def test_the_first_unstorable_text_of_a_json_value_is_found_with_its_path(value: object, found: object) -> None:
    # When a decoded JSON value is searched, I expect the path and character of its first unstorable text, or None
    assert find_unstorable(value) == found


def test_storable_replaces_each_such_character_and_keeps_everything_else() -> None:
    # Given a value with NULs and a lone surrogate in strings and keys, among other types
    ident = uuid.uuid4()
    value = {"a\x00": ["x\x00y", ("\ud800", 2)], "id": ident, "n": 3, "ok": "fine"}
    # When it is made storable
    clean = storable(value)
    # I expect every such character replaced by U+FFFD, nothing else changed, and none left
    r = REPLACEMENT
    assert clean == {f"a{r}": [f"x{r}y", (r, 2)], "id": ident, "n": 3, "ok": "fine"}
    assert find_unstorable(clean) is None
    ok = {"a": ["b"], "c": "d"}
    assert storable(ok) is ok and unstorable("fine") is None


def test_an_event_is_made_storable_as_a_copy_and_a_clean_one_is_kept_as_it_is() -> None:
    # Given a conversation's events, one with a NUL in its personal text and visitor id
    c = Conversation(uuid.uuid4(), "widget", {"user_id": "v\x00"})
    c.receive("m1", "hi \x00 x")
    c.receive("m2", "clean")
    started, poisoned, clean = c.collect_events()
    # When each is made storable
    made = [storable_event(e) for e in (started, poisoned, clean)]
    # I expect copies of the same type with the texts replaced (the stored events untouched), the clean one itself
    assert type(made[1]) is type(poisoned) and made[1].personal == {"text": f"hi {REPLACEMENT} x"}
    assert made[1].originator_id == poisoned.originator_id and made[1].timestamp == poisoned.timestamp
    assert made[0].personal == {"user_id": f"v{REPLACEMENT}"}
    assert poisoned.personal == {"text": "hi \x00 x"}
    assert made[2] is clean
