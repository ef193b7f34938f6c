"""The library's JSON transcoder with a faster decode: msgspec parses, a walk revives the transcoded values.

``FastJSONTranscoder`` is a drop-in for eventsourcing's ``JSONTranscoder`` (docs/adr/0009-fast-event-decoder.md):

- ``encode`` is the library's own, untouched: the stored bytes are the library's, byte for byte.
- ``decode`` parses with ``msgspec.json`` (plain dicts, lists, str, int, float, bool, None, as ``json`` gives
  them), then applies the library's object hook rule to every dict, innermost first as ``json`` does: a dict of
  exactly the two keys ``_type_`` and ``_data_`` becomes ``names[_type_].decode(_data_)``, with the registered
  ``Transcoding`` objects, so the values and their types are the library's. (The library's ``UUIDAsHex`` gets a
  quicker equivalent of its ``UUID(data)``: ``_uuid_from_hex``.)
- Whatever the fast path cannot take, it hands to the library's decode: input msgspec refuses and ``json``
  accepts (``NaN``, ``Infinity``, numbers beyond a float, lone surrogate escapes, 4,300-digit negative ints), an
  unknown ``_type_``, a transcoding that raises, input that is not ``bytes``. The result, or the error, is then
  exactly the library's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, SafeUUID

import msgspec
from eventsourcing.persistence import JSONTranscoder, Transcoding, UUIDAsHex

_decode_json = msgspec.json.Decoder().decode
_new, _set = object.__new__, object.__setattr__
Reviver = Callable[[Any], Any]


class FastJSONTranscoder(JSONTranscoder):
    """``JSONTranscoder`` whose decode is msgspec plus a walk; encode and registrations are the library's."""

    def __init__(self) -> None:
        super().__init__()
        self._revivers: dict[Any, Reviver] = {}  # name -> what the walk calls on ``_data_``

    def register(self, transcoding: Transcoding) -> None:
        """Register ``transcoding`` as the library does, and keep its decode at hand for the walk."""
        super().register(transcoding)
        exact = type(transcoding) is UUIDAsHex
        self._revivers[transcoding.name] = _uuid_reviver(transcoding.decode) if exact else transcoding.decode

    def decode(self, data: bytes) -> Any:
        """The object ``JSONTranscoder.decode(data)`` returns, equal in value and type (or its error)."""
        if type(data) is bytes:
            try:
                obj = _decode_json(data)
                kind = type(obj)
                if kind is dict:
                    return _revive_dict(obj, self._revivers)
                if kind is list:
                    _revive_list(obj, self._revivers)
                return obj
            except Exception:  # the library's decode gives the answer: its value, or its exception
                pass
        return super().decode(data)


def _revive_dict(d: dict[str, Any], revivers: dict[Any, Reviver]) -> Any:
    for key, value in d.items():
        kind = type(value)
        if kind is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value and type(value["_data_"]) is str:
                d[key] = revivers[value["_type_"]](value["_data_"])  # the common leaf: nothing inside to revive
            else:
                d[key] = _revive_dict(value, revivers)
        elif kind is list:
            _revive_list(value, revivers)
    if len(d) == 2 and "_type_" in d and "_data_" in d:
        return revivers[d["_type_"]](d["_data_"])  # KeyError (not registered): the library's decode raises
    return d


def _revive_list(items: list[Any], revivers: dict[Any, Reviver]) -> None:
    for i, value in enumerate(items):
        kind = type(value)
        if kind is dict:
            items[i] = _revive_dict(value, revivers)
        elif kind is list:
            _revive_list(value, revivers)


def _uuid_reviver(library_decode: Reviver) -> Reviver:
    def revive(data: Any) -> Any:
        # UUID(data) on a string of 32 letters and digits is int(data, 16) (its hyphens, braces and "urn:uuid:"
        # removals find nothing to remove), always in [0, 2**128), with is_safe unknown: build just that.
        if type(data) is str and len(data) == 32 and data.isalnum():
            uuid = _new(UUID)
            _set(uuid, "int", int(data, 16))  # ValueError on a non-hex letter: the library's decode raises it
            _set(uuid, "is_safe", SafeUUID.unknown)
            return uuid
        return library_decode(data)

    return revive
